/**
 * Node socket error codes that mean "the other side could not be reached or went away now":
 * worth retrying (TransientError), whatever the protocol on top. Shared by the PostgreSQL and
 * S3 boundaries so both classify a network failure the same way.
 */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EPIPE',
]);
