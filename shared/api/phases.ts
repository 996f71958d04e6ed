/**
 * `status.phase` values (docs/architecture.md "The resource"). The phase is a summary for
 * people; code decides on conditions.
 */

/** Every phase, in the order a healthy first reconciliation walks them. */
export const PHASES = [
  'Pending',
  'ValidatingDependencies',
  'InitializingDatabase',
  'DeployingSecrets',
  'DeployingComponents',
  'Running',
  'Updating',
  'Failed',
  'Terminating',
] as const;

/** A `status.phase` value. */
export type Phase = (typeof PHASES)[number];

/**
 * Whether a value is a phase.
 * @param value - for example `status.phase` read from the API server
 */
export function isPhase(value: string): value is Phase {
  return (PHASES as readonly string[]).includes(value);
}
