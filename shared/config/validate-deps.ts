/**
 * Settings of the validate-deps function: how long each connectivity probe may take. The
 * bounds keep one event well inside Knative's request timeout; the broker retries a probe
 * that timed out, so a short bound costs nothing but a retry.
 */
import { egressSchema } from './egress.ts';
import { integer, type ConfigOf, type ConfigSchema } from './settings.ts';

/** Defaults of validate-deps, in one place. */
export const VALIDATE_DEPS_DEFAULTS = Object.freeze({
  postgresTimeoutMs: 5000,
  s3TimeoutMs: 5000,
});

/** validate-deps' own settings, composed with the runtime's by parseConfig. */
export const validateDepsSchema = {
  /** Which addresses the probes may dial (the hosts come from tenants' Secrets). */
  ...egressSchema,
  probes: {
    /** The whole probe of the external PostgreSQL: connect, `select 1`, disconnect. */
    postgresTimeoutMs: integer('VALIDATE_DEPS_POSTGRES_TIMEOUT_MS', {
      default: VALIDATE_DEPS_DEFAULTS.postgresTimeoutMs,
      min: 100,
      max: 60_000,
    }),
    /** Each request of the HeadBucket probe of the external S3. */
    s3TimeoutMs: integer('VALIDATE_DEPS_S3_TIMEOUT_MS', {
      default: VALIDATE_DEPS_DEFAULTS.s3TimeoutMs,
      min: 100,
      max: 60_000,
    }),
  },
} satisfies ConfigSchema;

/** The parsed settings of validate-deps. */
export type ValidateDepsConfig = ConfigOf<typeof validateDepsSchema>;
