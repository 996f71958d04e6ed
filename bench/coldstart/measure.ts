/**
 * What the cold-start benchmarks share: start a process, poll it every millisecond until it
 * answers, and stop the clock; its RSS then; medians. run.ts (telemetry setups) and image.ts
 * (one image vs one per function) time different commands the same way.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { freePort } from '../../test/env/ports.ts';

/** A process to time. */
export interface Start {
  /** Label in errors. */
  readonly name: string;
  /** Arguments of `node` (the bundle and its own arguments). */
  readonly args: readonly string[];
  /** The environment; PORT is added. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * One attempt at the first answer on `port`: resolves true when answered, false (or throws
   * a connection error) when not yet; throws an Error whose message has "answered" to fail.
   */
  readonly attempt: (port: number) => Promise<boolean>;
  /** Run as this user (and group of the same number) instead of the benchmark's. */
  readonly uid?: number;
}

/** The resident set of a process, in MiB. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/**
 * Spawns `node <args>` with a free PORT and attempts until answered; then reads RSS and sends
 * SIGTERM. Resolves with the milliseconds from spawn to the answer.
 */
export async function timeToAnswer(start: Start): Promise<{ ms: number; rss: number }> {
  const port = await freePort();
  const env: Record<string, string> = { PORT: String(port) };
  for (const [key, value] of Object.entries(start.env)) if (value !== undefined) env[key] = value;
  env.PORT = String(port);
  const began = performance.now();
  const ids = start.uid === undefined ? {} : { uid: start.uid, gid: start.uid };
  const child = spawn(process.execPath, [...start.args], { env, stdio: 'ignore', ...ids });
  const exited = once(child, 'exit');
  for (;;) {
    try {
      if (await start.attempt(port)) break;
    } catch (error) {
      if (error instanceof Error && error.message.includes('answered')) throw error;
      if (child.exitCode !== null)
        throw new Error(`${start.name} exited ${child.exitCode}`, { cause: error });
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const ms = performance.now() - began;
  const rss = rssMiB(child.pid ?? 0);
  child.kill('SIGTERM');
  await exited;
  return { ms, rss };
}

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/**
 * Runs every start once per round, interleaved (drift in machine load hits all alike); round
 * 0 is a warm-up (page cache, compile cache) and is not counted.
 * @returns the timings and RSS of each start, by name
 */
export async function interleave(
  starts: readonly Start[],
  rounds: number,
): Promise<Map<string, { ms: number[]; rss: number[] }>> {
  const results = new Map(starts.map((s) => [s.name, { ms: [] as number[], rss: [] as number[] }]));
  for (let round = 0; round <= rounds; round++) {
    for (const start of starts) {
      const { ms, rss } = await timeToAnswer(start);
      if (round === 0) continue;
      results.get(start.name)?.ms.push(ms);
      results.get(start.name)?.rss.push(rss);
    }
  }
  return results;
}

/** One markdown table row per start: min / median / max ms and the median RSS. */
export function table(results: Map<string, { ms: number[]; rss: number[] }>): string {
  const rows = [...results].map(
    ([name, r]) =>
      `| ${name} | ${Math.min(...r.ms).toFixed(0)} / **${median(r.ms).toFixed(0)}** / ${Math.max(...r.ms).toFixed(0)} | ${median(r.rss).toFixed(1)} |`,
  );
  return ['| variant | min / median / max ms | RSS MiB (median) |', '| --- | --- | --- |', ...rows]
    .map((line) => `${line}\n`)
    .join('');
}
