/** The test environment's process handling: the embedded environment's (shared/local/embedded). */
export {
  startProcess,
  waitUntil,
  type ManagedProcess,
  type ProcessOptions,
} from '../../shared/local/embedded/process.ts';
