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
}

/**
 * Why a value cannot be an S3 endpoint, or undefined when it can. The value itself is never
 * quoted: a URL may carry user info.
 * @param raw - the endpoint as written in the Secret
 */
export function endpointProblem(raw: string): string | undefined {
  if (!URL.canParse(raw))
    return 'is not an absolute URL (for example https://s3.eu-west-1.amazonaws.com)';
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
  return `bucket "${target.bucket}" at ${where} (region ${target.region}, ${style})`;
}
