/**
 * Condition reasons: CamelCase constants, as Kubernetes conventions ask, in one place so that
 * users (and alerts) can rely on them. Phase functions add theirs here.
 */
export const REASON = {
  /** A chain for a new generation started. */
  Reconciling: 'Reconciling',
  /** Everything the condition covers holds. */
  Succeeded: 'Succeeded',
  /** Work is under way and will report again. */
  InProgress: 'InProgress',
  /** The dead-letter sink saw the broker give up on an event. */
  RetriesExhausted: 'RetriesExhausted',
  /** Not evaluated yet for this generation. */
  Pending: 'Pending',
} as const;

export type Reason = (typeof REASON)[keyof typeof REASON];
