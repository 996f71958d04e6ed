/** Free loopback ports for test servers: the embedded environment's helper. */
export { freePort } from '../../shared/local/embedded/ports.ts';
