/**
 * The Secret `<project>-db-urls`: one key per connection URL a component declares
 * (shared/components/types.ts ConnectionUrlSpec), each `scheme://user:password@host:port/db`
 * with every part URL-encoded, so a password holding `@`, `/`, `:`, `%`, quotes or a space
 * reaches the driver unchanged (Kubernetes' `$(VAR)` expansion cannot encode).
 */
import type { ConnectionUrlSpec } from '../../shared/components/types.ts';
import type { DatabaseTarget } from '../../shared/db/target.ts';
import { Sensitive } from '../../shared/secrets/sensitive.ts';

/**
 * The connection URLs every enabled component declares, one per key. Two components may
 * declare the same key only with the same spec.
 * @throws Error when two declarations of a key differ (a builder bug, not a user's problem)
 */
export function collectConnectionUrls(
  declared: readonly (readonly ConnectionUrlSpec[])[],
): ConnectionUrlSpec[] {
  const byKey = new Map<string, ConnectionUrlSpec>();
  for (const spec of declared.flat()) {
    const seen = byKey.get(spec.key);
    if (seen && JSON.stringify(seen) !== JSON.stringify(spec)) {
      throw new Error(`two components declare the connection URL "${spec.key}" differently`);
    }
    byKey.set(spec.key, spec);
  }
  return [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key));
}

/** A host for a URL: an IPv6 literal in brackets, anything else encoded. */
function urlHost(host: string): string {
  return host.includes(':') ? `[${host.replace(/^\[|\]$/g, '')}]` : encodeURIComponent(host);
}

/**
 * Renders one connection URL. The user is the database Secret's username for
 * `database-user`, else the login role's name (init-db gives those roles the Secret's password).
 * @param spec - what the component declared
 * @param database - the database Secret's values and the project's sslMode
 */
export function renderConnectionUrl(spec: ConnectionUrlSpec, database: DatabaseTarget): Sensitive {
  const user = spec.role === 'database-user' ? database.user : spec.role;
  const query = spec.sslmode ? `?sslmode=${encodeURIComponent(database.sslMode)}` : '';
  return new Sensitive(
    `${spec.scheme}://${encodeURIComponent(user)}:${encodeURIComponent(database.password.reveal())}` +
      `@${urlHost(database.host)}:${database.port}/${encodeURIComponent(database.database)}${query}`,
  );
}

/**
 * The data of `<project>-db-urls`.
 * @param specs - the declared URLs (collectConnectionUrls)
 * @param database - the database Secret's values and the project's sslMode
 */
export function renderConnectionUrls(
  specs: readonly ConnectionUrlSpec[],
  database: DatabaseTarget,
): ReadonlyMap<string, Sensitive> {
  return new Map(specs.map((spec) => [spec.key, renderConnectionUrl(spec, database)]));
}
