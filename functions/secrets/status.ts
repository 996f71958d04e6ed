/**
 * What the secrets phase says in status when it succeeds. Derived only from the state of
 * the Secrets and the project (never from what this run happened to do), so a run that
 * changes nothing computes the same status and writes nothing (docs/architecture.md rule 5).
 */
import { REFERENCE_API_GROUP } from '../../shared/api/reference-operator.ts';
import { REASON } from '../../shared/api/reasons.ts';
import type { DashboardSecretSource } from '../../shared/secrets/names.ts';
import type { DashboardSecretState } from './dashboard-secret.ts';
import type { JwtSecretState } from './jwt-secret.ts';

/** The longest part of a rotation request repeated in status. */
const MAX_REQUEST_SHOWN = 64;

/**
 * A rotation request as shown in status: quoted (control characters escaped) and cut.
 * @param request - the annotation's value
 */
export function showRequest(request: string): string {
  const cut =
    request.length > MAX_REQUEST_SHOWN ? `${request.slice(0, MAX_REQUEST_SHOWN)}…` : request;
  return JSON.stringify(cut);
}

/** Whether the JWT secret was rotated for the request the project carries now. */
export function rotatedForCurrentRequest(
  jwt: JwtSecretState,
  request: string | undefined,
): boolean {
  return jwt.managed && request !== undefined && jwt.rotatedFor === request;
}

/**
 * The message of SecretsReady=True.
 * @param jwt - the state of `<project>-jwt`
 * @param dashboard - where the dashboard credentials are, and (when generated) their state
 * @param request - the project's rotation request, if any
 */
export function secretsReadyMessage(
  jwt: JwtSecretState,
  dashboard: { readonly source: DashboardSecretSource; readonly state?: DashboardSecretState },
  request: string | undefined,
): string {
  const parts: string[] = [];
  if (jwt.managed && jwt.adoptedFrom !== undefined) {
    parts.push(adoptionMessage(jwt));
  } else if (jwt.managed) {
    parts.push(
      `Secret ${jwt.name} holds the JWT secret, the anon and service-role keys, the postgres-meta crypto key and Realtime's keys (generated and managed by the reconciler)`,
    );
    if (rotatedForCurrentRequest(jwt, request) && request !== undefined) {
      parts.push(
        `JWT secret and API keys regenerated for rotation request ${showRequest(request)}`,
      );
    }
  } else {
    parts.push(`Secret ${jwt.name} (provided, not managed by the reconciler) is valid`);
    if (request !== undefined && request !== jwt.rotatedFor) {
      parts.push(
        `rotation request ${showRequest(request)} ignored: the reconciler never writes a provided Secret; rotate it yourself`,
      );
    }
  }
  const { source, state } = dashboard;
  parts.push(
    source.generated
      ? `dashboard credentials in Secret ${source.name} (${state?.managed === false ? 'provided' : 'generated'})`
      : `dashboard credentials from spec.studio.dashboardBasicAuthSecretRef (Secret ${source.name})`,
  );
  return parts.join('; ');
}

/**
 * The summary in `status.message` while components are deployed next.
 * @param jwt - the state of `<project>-jwt`
 * @param request - the project's rotation request, if any
 */
export function phaseMessage(jwt: JwtSecretState, request: string | undefined): string {
  return rotatedForCurrentRequest(jwt, request) && request !== undefined
    ? `Secrets ready (JWT secret rotated for request ${showRequest(request)}); deploying components`
    : 'Secrets ready; deploying components';
}

/**
 * What adoption of another operator's `<project>-jwt` means for the user: said in
 * SecretsReady for as long as the Secret records it, and in the Event of the run that adopts.
 * @param jwt - the state of an adopted `<project>-jwt`
 */
export function adoptionMessage(jwt: JwtSecretState): string {
  return `Secret ${jwt.name} was adopted from the reference operator (${REFERENCE_API_GROUP}, on request "${jwt.adoptedFrom ?? ''}"): its jwt-secret and pg-meta-crypto-key are kept, anon-key and service-role-key were signed again with the jwt-secret's text (the reference signed them with its base64-decoded bytes, which Supabase Auth, Storage and Realtime reject) and Realtime's keys were added; clients must use the new anon and service_role keys from Secret ${jwt.name} (the old ones no longer work)`;
}

/**
 * The reason of SecretsReady=True.
 * @param jwt - the state of `<project>-jwt`
 */
export function secretsReadyReason(
  jwt: JwtSecretState,
): typeof REASON.KeysReady | typeof REASON.JwtSecretAdopted {
  return jwt.managed && jwt.adoptedFrom !== undefined ? REASON.JwtSecretAdopted : REASON.KeysReady;
}
