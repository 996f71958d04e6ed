/**
 * Settings of the secrets function: how long generated API keys live, and how much
 * validity an existing key must have left before it is renewed (ours) or reported (a
 * user's). Defaults in shared/secrets/api-keys.ts.
 */
import {
  type ApiKeyPolicy,
  DEFAULT_API_KEY_LIFETIME_SECONDS,
  DEFAULT_API_KEY_MIN_VALIDITY_SECONDS,
} from '../secrets/api-keys.ts';
import { integer, type ConfigOf } from './settings.ts';

const DAY = 86_400;

/** The secrets function's own variables. */
export const secretsSchema = {
  secrets: {
    /** Days from a generated API key's `iat` to its `exp` (default 3650, ten years). */
    apiKeyLifetimeDays: integer('SECRETS_API_KEY_LIFETIME_DAYS', {
      default: DEFAULT_API_KEY_LIFETIME_SECONDS / DAY,
      min: 365,
      max: 36_500,
    }),
    /**
     * Days an existing API key must still be valid (default 30). At most 180, below the
     * shortest lifetime, so a freshly signed key always passes and is never re-signed in a loop.
     */
    apiKeyMinValidityDays: integer('SECRETS_API_KEY_MIN_VALIDITY_DAYS', {
      default: DEFAULT_API_KEY_MIN_VALIDITY_SECONDS / DAY,
      min: 1,
      max: 180,
    }),
  },
};

/** The parsed settings of the secrets function. */
export type SecretsSettings = ConfigOf<typeof secretsSchema>['secrets'];

/**
 * The API key policy these settings describe, in seconds.
 * @param settings - the parsed settings
 */
export function apiKeyPolicyOf(settings: SecretsSettings): ApiKeyPolicy {
  return {
    lifetimeSeconds: settings.apiKeyLifetimeDays * DAY,
    minValiditySeconds: settings.apiKeyMinValidityDays * DAY,
  };
}
