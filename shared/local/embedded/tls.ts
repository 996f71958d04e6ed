/**
 * The embedded PostgreSQL's TLS certificate. A SupabaseProject's `spec.database.sslMode`
 * defaults to `require`, so the server must speak TLS for the example manifest to work as it
 * is; a self-signed certificate for 127.0.0.1 is enough (require encrypts without verifying,
 * and the certificate doubles as the `ca.crt` of verify-full).
 */
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A self-signed server certificate. */
export interface ServerCertificate {
  /** The certificate, PEM; it is its own CA. */
  readonly certPem: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * Makes a self-signed certificate for `localhost` and 127.0.0.1 with the openssl command.
 * @param dir - a folder the server's user can traverse
 * @param keyOwner - who must own the key (the server's user), when not this process's
 * @throws Error saying to install openssl when it is missing
 */
export async function makeServerCertificate(
  dir: string,
  keyOwner?: { readonly uid: number; readonly gid: number },
): Promise<ServerCertificate> {
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  try {
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '30',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ]);
  } catch (error) {
    const missing = (error as { code?: unknown }).code === 'ENOENT';
    throw new Error(
      missing
        ? 'The embedded PostgreSQL serves TLS (sslMode defaults to require) with a certificate ' +
            'made by the openssl command, which is not installed: install openssl.'
        : `openssl could not make the embedded PostgreSQL's certificate: ${String(error)}`,
      { cause: error },
    );
  }
  // PostgreSQL refuses a key that others may read, or that its user does not own.
  await chmod(keyFile, 0o600);
  if (keyOwner) await chown(keyFile, keyOwner.uid, keyOwner.gid);
  await chmod(certFile, 0o644);
  return { certPem: await readFile(certFile, 'utf8'), certFile, keyFile };
}
