import { createServer } from 'node:net';

/**
 * Asks the kernel for a free TCP port on loopback.
 *
 * The port is released before it is returned, so another process could take it in
 * between; callers that bind it later retry their whole start on "address in use".
 * @returns a port number that was free a moment ago
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') {
          reject(new Error('could not read the port of a loopback listener'));
        } else {
          resolve(address.port);
        }
      });
    });
  });
}
