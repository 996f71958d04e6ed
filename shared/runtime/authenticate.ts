/**
 * Events only from the Broker: with Knative Eventing's OIDC authentication of deliveries
 * (the `authentication-oidc` feature), the Broker sends a service-account token whose audience
 * is the subscriber's. When configured (AUTH_OIDC_AUDIENCE), every delivery must carry such a
 * token, signed by the API server's service-account issuer, for this function's audience and,
 * when a list is given, from an allowed service account; anything else is answered 401 before
 * the body is read. Without it, anyone who can reach the function's Service could post it an
 * event (say, a forged dead letter that marks a project failed).
 */
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet } from 'jose';
import { ReconcilerError, TransientError, UnauthenticatedError } from './errors.ts';

/** The issuer the tokens must come from and the keys it signs with. */
export interface TokenIssuer {
  readonly issuer: string;
  readonly keys: JSONWebKeySet;
}

/** How deliveries are authenticated. */
export interface BrokerAuthOptions {
  /** The audience the Broker requests tokens for (the Trigger subscriber's `audience`). */
  readonly audience: string;
  /**
   * Allowed `sub` claims (`system:serviceaccount:<namespace>:<name>`; an item ending in `*` is
   * a prefix). Empty: any service account the issuer vouches for. Any service account's owner
   * can request a token for any audience, so list the Broker's.
   */
  readonly subjects: readonly string[];
  /** Overrides the issuer the discovery document names. */
  readonly issuer?: string | undefined;
  /** Reads the issuer and its keys (shared/k8s/service-account-issuer.ts). */
  readonly loadIssuer: () => Promise<TokenIssuer>;
  /** The soonest the keys are read again when a token names an unknown key (default 30 s). */
  readonly refreshIntervalMs?: number;
}

/**
 * Checks a request's Authorization header.
 * @returns the token's subject
 * @throws UnauthenticatedError (401) for a missing or invalid token or a subject not allowed
 * @throws TransientError (503, retried) when the issuer's keys cannot be read
 */
export type Authenticate = (authorization: string | undefined) => Promise<string>;

interface Verifier {
  readonly issuer: string;
  readonly keySet: ReturnType<typeof createLocalJWKSet>;
  readonly loadedAt: number;
}

/** Builds the check of deliveries. The issuer's keys are read on the first request. */
export function brokerAuthenticator(options: BrokerAuthOptions): Authenticate {
  const refreshIntervalMs = options.refreshIntervalMs ?? 30_000;
  let current: Promise<Verifier> | undefined;

  const load = (): Promise<Verifier> => {
    const loading = options.loadIssuer().then(
      ({ issuer, keys }) => ({
        issuer: options.issuer ?? issuer,
        keySet: createLocalJWKSet(keys),
        loadedAt: Date.now(),
      }),
      (error: unknown) => {
        throw new TransientError(
          `the service-account issuer's keys could not be read to check the delivery's token: ${error instanceof ReconcilerError ? error.message : 'unknown error'}`,
          { cause: error },
        );
      },
    );
    // A failed read is not cached: the next request tries again.
    loading.catch(() => {
      if (current === loading) current = undefined;
    });
    current = loading;
    return loading;
  };

  const verify = async (token: string, verifier: Verifier): Promise<string> => {
    const { payload } = await jwtVerify(token, verifier.keySet, {
      issuer: verifier.issuer,
      audience: options.audience,
      requiredClaims: ['sub', 'exp'],
    });
    return payload.sub ?? '';
  };

  return async (authorization) => {
    const token = /^Bearer +([A-Za-z0-9._~+/=-]+)$/.exec(authorization ?? '')?.[1];
    if (!token) {
      throw new UnauthenticatedError('a bearer token of the Broker is required');
    }
    let verifier = await (current ?? load());
    let subject: string;
    try {
      try {
        subject = await verify(token, verifier);
      } catch (error) {
        // Keys rotate: an unknown key id reads them again (not more often than the interval).
        if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
        if (Date.now() - verifier.loadedAt < refreshIntervalMs) throw error;
        verifier = await load();
        subject = await verify(token, verifier);
      }
    } catch (error) {
      if (error instanceof ReconcilerError) throw error;
      throw new UnauthenticatedError(
        `the bearer token was refused (${error instanceof errors.JOSEError ? error.code : 'invalid'})`,
        { cause: error },
      );
    }
    if (!subjectAllowed(subject, options.subjects)) {
      throw new UnauthenticatedError('the token names a service account that may not send here');
    }
    return subject;
  };
}

function subjectAllowed(subject: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  return allowed.some((item) =>
    item.endsWith('*') ? subject.startsWith(item.slice(0, -1)) : subject === item,
  );
}
