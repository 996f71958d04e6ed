/** An S3-protocol server (versitygw) over a local directory. */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { startProcess, waitUntil } from './process.ts';

/** How a client reaches the S3-protocol server. */
export interface S3Connection {
  /** `http://127.0.0.1:<port>` (with TLS `https://<host name>:<port>`); path-style buckets. */
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** A running S3-protocol server. */
export interface S3Environment extends S3Connection {
  stop(): Promise<void>;
}

/** TLS for the server: its certificate, for a host name that resolves to loopback. */
export interface S3TlsOptions {
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA that signed the certificate (PEM), trusted by the health check. */
  readonly caPem: string;
  /** The name the certificate is for (`localhost`): the endpoint is `https://<name>:<port>`. */
  readonly hostName: string;
}

/** Whether a health URL answers 2xx, over TLS trusting only `ca`. */
function healthyOverTls(url: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = httpsGet(url, { ca }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve(status >= 200 && status < 300);
    });
    request.on('error', () => {
      resolve(false);
    });
  });
}

/**
 * Starts versitygw, an S3 gateway over a local directory, on loopback. It checks SigV4
 * signatures against its root credentials, so a wrong secret or an unknown key fails as it
 * does on S3, and a missing bucket answers 404.
 * @param assetsDir - directory with the `versitygw` binary
 * @param workDir - an empty scratch directory for objects and metadata
 * @param tls - serve HTTPS with this certificate instead of plain HTTP
 */
export async function startS3(
  assetsDir: string,
  workDir: string,
  tls?: S3TlsOptions,
): Promise<S3Environment> {
  const data = join(workDir, 'data');
  const meta = join(workDir, 'meta');
  await mkdir(data, { recursive: true });
  await mkdir(meta, { recursive: true });
  const port = await freePort();
  const accessKeyId = `test${randomBytes(6).toString('hex')}`;
  const secretAccessKey = randomBytes(20).toString('hex');
  const region = 'us-east-1';
  const proc = startProcess(
    'versitygw',
    join(assetsDir, 'versitygw'),
    [
      `--port=127.0.0.1:${port}`,
      `--region=${region}`,
      '--health=/health',
      '--quiet',
      ...(tls ? [`--cert=${tls.certFile}`, `--key=${tls.keyFile}`] : []),
      'posix',
      // Metadata in a sidecar directory instead of extended attributes, which not every
      // temporary filesystem supports.
      `--sidecar=${meta}`,
      data,
    ],
    join(workDir, 'versitygw.log'),
    // Credentials by environment, so they never appear in a process listing.
    { env: { ROOT_ACCESS_KEY: accessKeyId, ROOT_SECRET_KEY: secretAccessKey } },
  );
  const endpoint = tls ? `https://${tls.hostName}:${port}` : `http://127.0.0.1:${port}`;
  try {
    await waitUntil(
      'versitygw',
      async () =>
        tls
          ? healthyOverTls(`${endpoint}/health`, tls.caPem)
          : (await fetch(`${endpoint}/health`)).ok,
      proc.exited,
      30_000,
    );
  } catch (error) {
    // A child process left running would keep a test runner (or `npm start`) from exiting.
    await proc.stop();
    throw error;
  }
  return { endpoint, region, accessKeyId, secretAccessKey, stop: () => proc.stop() };
}
