/**
 * Where the external S3 bucket is and how to reach it: what the storage Secret and
 * `spec.storage.forcePathStyle` say. The two keys stay wrapped in Sensitive until the one
 * place that signs requests with them.
 */
import type { Sensitive } from '../secrets/sensitive.ts';

/** The bucket as the reconciler probes it. */
export interface BucketTarget {
  /** Absolute http(s) URL of the S3 API, without credentials, query or fragment. */
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly accessKeyId: Sensitive;
  readonly secretAccessKey: Sensitive;
  /** `endpoint/bucket/key` addressing instead of `bucket.endpoint/key`. */
  readonly forcePathStyle: boolean;
  /** The storage Secret's endpoint named no scheme, so `https://` was put in front of it. */
  readonly schemeAssumed?: boolean;
}

/** The scheme a bare host is reached with, as the AWS SDKs and the reference operator do. */
export const ASSUMED_S3_SCHEME = 'https:';

/**
 * A host name, IPv4 address or bracketed IPv6 address, an optional port and an optional
 * path, with no scheme: `s3.amazonaws.com`, `minio.storage.svc:9000`, `10.0.0.5:9000/s3`.
 */
const BARE_HOST =
  /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::\d{1,5})?(?:\/[^?#\s]*)?$/;

/** An endpoint as the reconciler uses it. */
export interface NormalisedEndpoint {
  /** The URL with its scheme. */
  readonly endpoint: string;
  /** True when the written value was a bare host and `https://` was put in front. */
  readonly schemeAssumed: boolean;
}

/**
 * The endpoint with a scheme: a bare host (and port, and path) is taken as
 * `https://<host>`, as the AWS SDKs and the reference operator (its own samples write
 * `endpoint: s3.amazonaws.com`) take it; anything else is left for endpointProblem to judge.
 * validate-deps probes, and deploy-components gives Storage, this same URL.
 * @param raw - the endpoint as written in the Secret (trimmed)
 */
export function normaliseEndpoint(raw: string): NormalisedEndpoint {
  return BARE_HOST.test(raw)
    ? { endpoint: `${ASSUMED_S3_SCHEME}//${raw}`, schemeAssumed: true }
    : { endpoint: raw, schemeAssumed: false };
}

/**
 * Why a value cannot be an S3 endpoint, or undefined when it can. The value itself is never
 * quoted: a URL may carry user info.
 * @param raw - the endpoint as written in the Secret
 */
export function endpointProblem(raw: string): string | undefined {
  if (!URL.canParse(raw))
    return 'is neither an absolute URL nor a bare host (for example https://s3.eu-west-1.amazonaws.com or s3.eu-west-1.amazonaws.com)';
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return 'must start with http:// or https://';
  if (url.username !== '' || url.password !== '')
    return 'must not carry credentials (user:password@); put them in the accessKeyId and secretAccessKey keys';
  if (url.search !== '' || url.hash !== '') return 'must not have a query (?) or a fragment (#)';
  return undefined;
}

/** `bucket "b" at http://host:9000 (region r, path-style)`: how a target is named in messages. */
export function describeBucket(target: BucketTarget): string {
  const url = new URL(target.endpoint);
  const where = `${url.origin}${url.pathname === '/' ? '' : url.pathname}`;
  const style = target.forcePathStyle ? 'path-style' : 'virtual-hosted-style';
  const assumed = target.schemeAssumed
    ? `; https assumed: the endpoint key names no scheme, write http:// in it for a server without TLS`
    : '';
  return `bucket "${target.bucket}" at ${where} (region ${target.region}, ${style}${assumed})`;
}
