/**
 * The only module that loads @aws-sdk/client-s3: a connectivity probe of the external
 * bucket. The SDK is imported on first use, not at start-up, so a scale-to-zero function
 * does not pay its module loading before it answers its health probe.
 */
import type * as ClientS3 from '@aws-sdk/client-s3';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isIP } from 'node:net';
import type { EgressPolicy } from '../net/egress.ts';
import { s3StatusCode, translateS3Error } from './errors.ts';
import type { BucketTarget } from './target.ts';

/** Options of a probe. */
export interface BucketProbeOptions {
  /**
   * Which addresses may be dialled. Required: the endpoint comes from a tenant's Secret.
   * Tests that reach the test servers on loopback pass a policy that allows loopback.
   */
  readonly egress: EgressPolicy;
  /** Gives up after this long (TransientError); each request of the probe has this bound. */
  readonly timeoutMs?: number | undefined;
}

/** The result of a probe. */
export interface BucketProbeResult {
  /** Round trip of the HeadBucket request, in ms. */
  readonly latencyMs: number;
}

/** Default bound of one probe request. */
export const DEFAULT_S3_TIMEOUT_MS = 5000;

let sdk: Promise<typeof ClientS3> | undefined;

/** HEAD answers that carry no body and so no S3 error code; a GET follow-up reads it. */
const AMBIGUOUS_HEAD_STATUSES = new Set([301, 400, 403, 404]);

/**
 * Sends HeadBucket: does the bucket exist, and may these keys list it? One attempt only:
 * the broker retries the event, with its own backoff.
 *
 * A HEAD answer has no body, so a 404 cannot tell a missing bucket from an unknown access
 * key (versitygw answers the latter 404 XAdminUserNotFound), nor a 403 a wrong secret from a
 * missing permission. For those statuses a ListObjectsV2 (MaxKeys 1, needing the same
 * s3:ListBucket permission) follows, and its error code decides.
 * @throws ReconcilerError (PermanentError with reasons BucketNotFound, S3AccessDenied,
 *   S3WrongRegion, S3EndpointInvalid, S3TLSVerificationFailed, S3RequestRefused,
 *   EgressRefused;
 *   RateLimitedError for SlowDown; TransientError for timeouts, unreachable endpoints, 5xx)
 */
export async function probeBucket(
  target: BucketTarget,
  options: BucketProbeOptions,
): Promise<BucketProbeResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_S3_TIMEOUT_MS;
  const purpose = {
    what: 'the S3 endpoint',
    source: 'the endpoint key of the storage Secret',
  };
  // Sockets resolve host names through the policy's lookup, which checks what it returns;
  // they skip lookup for an IP literal, so that is checked here.
  const host = new URL(target.endpoint).hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) !== 0) await options.egress.resolve(host, purpose);
  const lookup = options.egress.lookupFor(purpose);
  sdk ??= import('@aws-sdk/client-s3');
  const { S3Client, HeadBucketCommand, ListObjectsV2Command } = await sdk;
  const client = new S3Client({
    endpoint: target.endpoint,
    region: target.region,
    forcePathStyle: target.forcePathStyle,
    credentials: {
      accessKeyId: target.accessKeyId.reveal(),
      secretAccessKey: target.secretAccessKey.reveal(),
    },
    maxAttempts: 1,
    requestHandler: {
      httpAgent: new HttpAgent({ lookup }),
      httpsAgent: new HttpsAgent({ lookup }),
      connectionTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      throwOnRequestTimeout: true,
    },
  });
  try {
    const started = performance.now();
    try {
      await client.send(new HeadBucketCommand({ Bucket: target.bucket }), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
      return { latencyMs: Math.round(performance.now() - started) };
    } catch (headError) {
      const status = s3StatusCode(headError);
      if (status === undefined || !AMBIGUOUS_HEAD_STATUSES.has(status))
        throw translateS3Error(headError, target, timeoutMs);
    }
    try {
      await client.send(new ListObjectsV2Command({ Bucket: target.bucket, MaxKeys: 1 }), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
    } catch (listError) {
      throw translateS3Error(listError, target, timeoutMs);
    }
    // HEAD was refused but listing works (a server that mishandles HEAD): the bucket is usable.
    return { latencyMs: Math.round(performance.now() - started) };
  } finally {
    client.destroy();
  }
}
