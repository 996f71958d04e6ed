/**
 * Only the instrumentations the functions use (http, express, pg), not the
 * auto-instrumentation bundle. Hooking `require` is not enough here: under ESM, and inside
 * an esbuild bundle, `import express` never passes through `require`, so express would go
 * uninstrumented (no route on the server span, no middleware spans). Modules that are already
 * loaded are therefore patched directly through the instrumentations' own module
 * definitions, which works the same unbundled (tsx, tsc output) and bundled.
 */
import http from 'node:http';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import express from 'express';

/** The part of an instrumentation's module definition used to patch a loaded module. */
interface ModuleDefinition {
  readonly name: string;
  moduleExports?: unknown;
  moduleVersion?: string;
  readonly patch?: (moduleExports: unknown, moduleVersion?: string) => unknown;
}

/** The instrumentations of one telemetry instance. */
export interface Instrumentations {
  /**
   * Patches a module that was loaded without `require` (an ESM import, or a bundle). The
   * telemetry patches `http` and `express` itself; shared/db calls this with `pg`, which
   * also patches pg-pool (reached through `pg.Pool`'s prototype, as pg does not export it).
   * @param name - the npm package name the instrumentation targets
   * @param moduleExports - what `import x from name` gave
   */
  instrumentModule(name: string, moduleExports: unknown): void;
  /** Removes every patch (end of a test; a process simply exits). */
  disable(): void;
}

/**
 * Creates and enables the http, express and pg instrumentations, and patches the already
 * loaded `http` and `express`.
 */
export function enableInstrumentations(
  tracerProvider: TracerProvider,
  meterProvider: MeterProvider,
): Instrumentations {
  const instrumentations = [
    new HttpInstrumentation({
      // Health probes and scrapes would drown the traces of real work.
      ignoreIncomingRequestHook: (request) =>
        request.url?.startsWith('/health/') === true || request.url === '/metrics',
    }),
    new ExpressInstrumentation(),
    new PgInstrumentation({ requireParentSpan: true }),
  ];
  // Enables the require hooks too, for modules loaded later through `require`.
  const unregister = registerInstrumentations({ instrumentations, tracerProvider, meterProvider });

  const definitions = (name: string): ModuleDefinition[] =>
    instrumentations.flatMap((instrumentation) =>
      // Read structurally: each instrumentation package may carry its own copy of
      // @opentelemetry/instrumentation, so their definition types are distinct.
      (instrumentation.getModuleDefinitions() as ModuleDefinition[]).filter(
        (definition) => definition.name === name,
      ),
    );

  const patch = (name: string, moduleExports: unknown): void => {
    for (const definition of definitions(name)) {
      // Recorded so that `disable()` can unpatch it, as if the require hook had seen it.
      definition.moduleExports = moduleExports;
      definition.patch?.(moduleExports, definition.moduleVersion);
    }
  };

  const instrumentModule = (name: string, moduleExports: unknown): void => {
    patch(name, moduleExports);
    if (name === 'pg') {
      const pool = (moduleExports as { Pool?: unknown }).Pool;
      if (typeof pool === 'function') patch('pg-pool', Object.getPrototypeOf(pool));
    }
  };

  instrumentModule('http', http);
  instrumentModule('express', express);

  return {
    instrumentModule,
    disable() {
      unregister();
    },
  };
}
