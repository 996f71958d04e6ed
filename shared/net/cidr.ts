/**
 * IP addresses and ranges as the egress policy and its settings read them: CIDRs, single
 * addresses, host names and `*.suffix` host patterns. Pure parsing, no I/O, so the settings
 * (shared/config/egress.ts) and the policy (egress.ts) read entries the same way.
 */
import { BlockList, isIP } from 'node:net';

/** An IP range: `10.96.0.0/12`, `fd00::/8`; a single address is a /32 or /128. */
export interface Cidr {
  /** The canonical text, e.g. `10.96.0.0/12`. */
  readonly text: string;
  readonly family: 'ipv4' | 'ipv6';
  /** Matches addresses of the range (IPv4-mapped IPv6 addresses match their IPv4 range). */
  readonly list: BlockList;
}

/** An entry of the allow-list: a range, or a host name (exact, or `*.` and a suffix). */
export type AllowEntry =
  | { readonly kind: 'cidr'; readonly cidr: Cidr }
  | { readonly kind: 'host'; readonly host: string }
  | { readonly kind: 'suffix'; readonly suffix: string };

const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

/**
 * Parses `address/prefix` or a bare address.
 * @returns the range, or undefined when `text` is not one
 */
export function parseCidr(text: string): Cidr | undefined {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  const prefix =
    prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : -1;
  if (prefix < 0 || prefix > max) return undefined;
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  return { text: `${address.toLowerCase()}/${prefix}`, family, list };
}

/**
 * Parses one allow-list entry: a CIDR, an address, a host name, or `*.` and a domain suffix.
 * @returns the entry, or undefined when `text` is none of these
 */
export function parseAllowEntry(text: string): AllowEntry | undefined {
  const value = text.trim().toLowerCase().replace(/\.$/, '');
  const cidr = parseCidr(value);
  if (cidr) return { kind: 'cidr', cidr };
  if (value.startsWith('*.') && HOST_NAME.test(value.slice(2)))
    return { kind: 'suffix', suffix: value.slice(1) };
  if (HOST_NAME.test(value) && !/^[\d.]+$/.test(value)) return { kind: 'host', host: value };
  return undefined;
}

/**
 * The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`,
 * `::ffff:7f00:1`), or the address itself: a mapped address reaches the IPv4 host.
 */
export function unmapped(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  if (isIP(address) === 4) return { address, family: 'ipv4' };
  const groups = expandIpv6(address);
  if (groups && groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return {
      address: [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.'),
      family: 'ipv4',
    };
  }
  return { address, family: 'ipv6' };
}

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
function expandIpv6(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address.toLowerCase().replace(/%.*$/, '');
  // A trailing dotted IPv4 part is two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parts = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = parts(head);
  const right = tail === undefined ? [] : parts(tail);
  const zeros = tail === undefined ? [] : new Array<number>(8 - left.length - right.length).fill(0);
  const groups = [...left, ...zeros, ...right];
  return groups.length === 8 ? groups : undefined;
}
