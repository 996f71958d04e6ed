/**
 * The egress policy: which addresses the reconciler may dial for a tenant. The database host
 * and the S3 endpoint come from a tenant's Secret; without a policy a tenant could point them
 * at the reconciler's own loopback, the cloud metadata service or any in-cluster Service and
 * read, from the conditions, what answered there.
 *
 * A host is resolved once, every address it resolves to is checked, and the connection goes
 * to an address that was checked: PostgreSQL connects to the checked IP (shared/db), the AWS
 * SDK's sockets resolve through `lookup` below, which checks (shared/s3). No second DNS answer
 * can slip in between the check and the connect.
 *
 * Refused always: loopback (127.0.0.0/8, ::1), link-local (169.254.0.0/16 with the cloud
 * metadata address 169.254.169.254, fe80::/10), unspecified and "this network" (0.0.0.0/8,
 * ::), AWS's IPv6 metadata address (fd00:ec2::254); refused when configured: the cluster's
 * Service and Pod ranges. The allow-list (CIDRs, host names, `*.domain`) overrides both.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { EGRESS_VARIABLES, type EgressSettings } from '../config/egress.ts';
import { PermanentError } from '../runtime/errors.ts';
import { parseAllowEntry, parseCidr, unmapped, type AllowEntry, type Cidr } from './cidr.ts';
import { REASON } from '../api/reasons.ts';

/** One resolved address. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to all its addresses (dns.lookup in production; tests inject one). */
export type ResolveAll = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** What is dialled, for the refusal message: e.g. `the database host` (from the database Secret). */
export interface EgressPurpose {
  /** e.g. `the database host`. */
  readonly what: string;
  /** Where the tenant wrote it, e.g. `the host key of the database Secret "demo-db"`. */
  readonly source: string;
}

/** Which addresses may be dialled for a tenant. */
export interface EgressPolicy {
  /**
   * Resolves `host` (an IP literal resolves to itself, without DNS) and checks every address.
   * @returns the checked addresses, in the resolver's order: connect to one of these
   * @throws PermanentError with reason EgressRefused when an address is in a refused range;
   *   the resolver's error (ENOTFOUND, ...) when the name does not resolve
   */
  resolve(host: string, purpose: EgressPurpose): Promise<readonly ResolvedAddress[]>;
  /**
   * A `lookup` for Node sockets and HTTP agents that resolves and checks the same way, so a
   * client that resolves its own host names (the AWS SDK) connects only to checked addresses.
   * Sockets skip `lookup` for IP literals: check those with `resolve` first.
   */
  lookupFor(purpose: EgressPurpose): LookupFunction;
}

interface RefusedRange {
  readonly cidr: Cidr;
  /** Why it is refused, e.g. `loopback`. */
  readonly label: string;
}

const ALWAYS_REFUSED: readonly (readonly [string, string])[] = [
  ['127.0.0.0/8', 'loopback'],
  ['::1/128', 'loopback'],
  ['169.254.169.254/32', 'the cloud metadata address (link-local)'],
  ['169.254.0.0/16', 'link-local'],
  ['fe80::/10', 'link-local'],
  ['fd00:ec2::254/128', 'the cloud metadata address'],
  ['0.0.0.0/8', 'unspecified ("this network")'],
  ['::/128', 'unspecified'],
];

const systemResolver: ResolveAll = async (hostname) =>
  (await dnsLookup(hostname, { all: true, order: 'verbatim' })).map((a) => ({
    address: a.address,
    family: a.family === 6 ? 6 : 4,
  }));

/**
 * Builds the policy from its settings.
 * @param settings - the allow-list and the cluster's ranges (shared/config/egress.ts)
 * @param resolver - resolves host names (default: the system resolver, as sockets do)
 */
export function createEgressPolicy(
  settings: EgressSettings,
  resolver: ResolveAll = systemResolver,
): EgressPolicy {
  const allow = settings.allow
    .map(parseAllowEntry)
    .filter((entry): entry is AllowEntry => entry !== undefined);
  const refused: RefusedRange[] = [
    ...ALWAYS_REFUSED.flatMap(([text, label]) => {
      const cidr = parseCidr(text);
      return cidr ? [{ cidr, label }] : [];
    }),
    ...settings.clusterCidrs.flatMap((text) => {
      const cidr = parseCidr(text);
      return cidr
        ? [{ cidr, label: `the cluster's own ranges (${EGRESS_VARIABLES.clusterCidrs})` }]
        : [];
    }),
  ];

  const hostAllowed = (host: string): boolean => {
    const name = host.toLowerCase().replace(/\.$/, '');
    return allow.some(
      (entry) =>
        (entry.kind === 'host' && entry.host === name) ||
        (entry.kind === 'suffix' && name.endsWith(entry.suffix)),
    );
  };
  const addressAllowed = (address: string, family: 'ipv4' | 'ipv6'): boolean =>
    allow.some((entry) => entry.kind === 'cidr' && entry.cidr.list.check(address, family));

  function check(host: string, found: ResolvedAddress, purpose: EgressPurpose): void {
    if (hostAllowed(host)) return;
    const { address, family } = unmapped(found.address);
    if (addressAllowed(address, family)) return;
    const range = refused.find(
      (r) => r.cidr.family === family && r.cidr.list.check(address, family),
    );
    if (!range) return;
    const resolvedTo = isIP(host)
      ? `is ${found.address}`
      : `"${host}" resolved to ${found.address}`;
    throw new PermanentError(
      REASON.EgressRefused,
      `${purpose.what} ${resolvedTo}, which is in ${range.cidr.text} (${range.label}): the reconciler does not connect there for a project; fix ${purpose.source}, or, if the platform team means this address to be reachable, it adds the host or a range to ${EGRESS_VARIABLES.allow}`,
    );
  }

  async function resolve(
    host: string,
    purpose: EgressPurpose,
  ): Promise<readonly ResolvedAddress[]> {
    const literal = isIP(host);
    const addresses: readonly ResolvedAddress[] =
      literal !== 0 ? [{ address: host, family: literal === 6 ? 6 : 4 }] : await resolver(host);
    if (addresses.length === 0)
      throw Object.assign(new Error(`${host} did not resolve to any address`), {
        code: 'ENOTFOUND',
      });
    // Every address is checked, not only the first: which one a socket uses is not ours to say.
    for (const found of addresses) check(host, found, purpose);
    return addresses;
  }

  return {
    resolve,
    lookupFor(purpose) {
      return (hostname, options, callback) => {
        resolve(hostname, purpose).then(
          (addresses) => {
            const wanted =
              options.family === 4 || options.family === 6
                ? addresses.filter((a) => a.family === options.family)
                : addresses;
            if (options.all) {
              callback(
                null,
                wanted.map((a) => ({ address: a.address, family: a.family })),
              );
              return;
            }
            const [first] = wanted;
            if (!first) {
              callback(
                Object.assign(
                  new Error(`${hostname} has no IPv${String(options.family)} address`),
                  {
                    code: 'ENOTFOUND',
                  },
                ),
                '',
                0,
              );
              return;
            }
            callback(null, first.address, first.family);
          },
          (error: unknown) => {
            callback(error as NodeJS.ErrnoException, '', 0);
          },
        );
      };
    },
  };
}
