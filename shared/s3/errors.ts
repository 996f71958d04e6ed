/**
 * Translates what the AWS SDK throws into the reconciler's error kinds, at this boundary,
 * with messages that say what is wrong and which key of the storage Secret to fix.
 * S3 error codes: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 *
 * The SDK's error objects are never passed on as a `cause`: a SignatureDoesNotMatch error
 * carries the access key id and the string that was signed. A scrubbed copy is kept instead.
 *
 * The endpoint comes from a tenant's Secret and may point at something that is not S3. What
 * the remote side wrote (an S3 `<Message>`, an HTML or JSON body) never reaches a message,
 * and so never a condition: only the HTTP status and an S3 error code that looks like one. The
 * remote text stays in the scrubbed cause, for the operator's logs.
 */
import {
  PermanentError,
  RateLimitedError,
  ReconcilerError,
  TransientError,
} from '../runtime/errors.ts';
import { UNREACHABLE_CODES } from '../runtime/network-errors.ts';
import { RedactedError } from '../secrets/redacted-error.ts';
import { describeBucket, type BucketTarget } from './target.ts';
import { REASON, type Reason } from '../api/reasons.ts';

/** The fields of an SDK service or network error this module reads. */
interface S3ErrorLike {
  readonly name?: string;
  readonly message?: string;
  /** A Node socket error's code (ECONNREFUSED, ...). */
  readonly code?: string;
  /** The S3 error code from the response body; absent for HEAD requests, which have none. */
  readonly Code?: string;
  /** Region named by AuthorizationHeaderMalformed. */
  readonly Region?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $response?: { readonly headers?: Readonly<Record<string, string | undefined>> };
}

// A name that does not resolve may be a Service not created yet: retried, as shared/db does.
const UNREACHABLE = new Set([...UNREACHABLE_CODES, 'ENOTFOUND']);

const UNKNOWN_KEY_CODES = new Set(['InvalidAccessKeyId', 'XAdminUserNotFound']);
const DENIED_CODES = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidToken',
  'ExpiredToken',
]);
const WRONG_REGION_CODES = new Set([
  'AuthorizationHeaderMalformed',
  'PermanentRedirect',
  'IllegalLocationConstraintException',
]);

/** The HTTP status of an SDK error, or undefined when no response arrived. */
export function s3StatusCode(error: unknown): number | undefined {
  return (error as S3ErrorLike | undefined)?.$metadata?.httpStatusCode;
}

/**
 * Maps a probe error to a ReconcilerError.
 * @param error - what the SDK threw (for a HEAD 4xx, preferably the error of the
 *   body-carrying request that followed it, which names the S3 error code)
 * @param target - the bucket, named in the message (without its keys)
 * @param timeoutMs - the probe's bound, for the timeout message
 */
export function translateS3Error(
  error: unknown,
  target: BucketTarget,
  timeoutMs: number,
): ReconcilerError {
  if (error instanceof ReconcilerError) return error;
  const e = (error ?? {}) as S3ErrorLike;
  const where = describeBucket(target);
  const status = e.$metadata?.httpStatusCode;
  const code = e.Code ?? e.code ?? e.name ?? 'Error';
  const cause = {
    cause: RedactedError.of(error, [target.secretAccessKey.reveal(), target.accessKeyId.reveal()]),
  };
  if (status === undefined) return networkError(e, where, timeoutMs, cause);
  // An S3 answer is an XML error document with a code; anything else is not S3.
  const s3Code = e.Code !== undefined && S3_CODE.test(e.Code) ? e.Code : undefined;
  const codeNote = s3Code ? `, ${s3Code}` : '';

  const permanent = (reason: Reason, what: string) =>
    new PermanentError(reason, `${where}: ${what}`, cause);
  switch (true) {
    case code === 'NoSuchBucket':
      return permanent(
        REASON.BucketNotFound,
        'the bucket does not exist; create it, or fix the bucket key of the storage Secret',
      );
    case UNKNOWN_KEY_CODES.has(code):
      return permanent(
        'S3AccessDenied',
        'the server does not know the access key id; check the accessKeyId key of the storage Secret',
      );
    case code === 'SignatureDoesNotMatch':
      return permanent(
        'S3AccessDenied',
        'the request signature was refused: the secret access key does not belong to the access key id; check the secretAccessKey key of the storage Secret',
      );
    case DENIED_CODES.has(code) || (status === 403 && !e.Code):
      return permanent(
        'S3AccessDenied',
        `access was denied (${e.Code ?? 'HTTP 403'}); check the accessKeyId and secretAccessKey keys of the storage Secret, and that the key may list the bucket (s3:ListBucket)`,
      );
    case WRONG_REGION_CODES.has(code) || status === 301:
      return permanent('S3WrongRegion', wrongRegion(e, target));
    case code === 'SlowDown' || code === 'TooManyRequests' || status === 429 || status === 503:
      return new RateLimitedError(
        `${where}: the server asked to slow down (HTTP ${status}${codeNote})`,
        cause,
      );
    case status >= 500:
      return new TransientError(`${where}: the server failed (HTTP ${status}${codeNote})`, cause);
    case status === 404:
      // A 404 without an S3 error code comes from something that is not an S3 API.
      return permanent(
        'S3EndpointInvalid',
        'the endpoint answered 404 without an S3 error code; check that the endpoint key of the storage Secret is the URL of the S3 API, and spec.storage.forcePathStyle',
      );
    case s3Code === undefined:
      return permanent(
        'S3EndpointInvalid',
        `the endpoint answered HTTP ${status} with something that is not an S3 error response; check that the endpoint key of the storage Secret is the URL of the S3 API, and spec.storage.forcePathStyle`,
      );
    default:
      return permanent(
        'S3RequestRefused',
        `the server refused the request (HTTP ${status}, ${s3Code}); see https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html for the code`,
      );
  }
}

/** What an S3 error code looks like (AccessDenied, XAdminUserNotFound, Foo.Bar). */
const S3_CODE = /^[A-Za-z][A-Za-z0-9.]{0,63}$/;

function networkError(
  e: S3ErrorLike,
  where: string,
  timeoutMs: number,
  cause: ErrorOptions,
): ReconcilerError {
  const code = e.code ?? '';
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || code === 'ETIMEDOUT')
    return new TransientError(`${where}: no answer within ${timeoutMs} ms`, cause);
  if (code === 'ENOTFOUND')
    // A Service that does not exist yet looks the same as a typo; retrying covers both.
    return new TransientError(
      `${where}: the endpoint's host name was not found; check the endpoint key of the storage Secret`,
      cause,
    );
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code))
    return new PermanentError(
      'S3TLSVerificationFailed',
      `${where}: the endpoint's TLS certificate could not be verified (${code}); give the server a certificate from a public CA`,
      cause,
    );
  if (UNREACHABLE.has(code))
    return new TransientError(`${where}: the endpoint could not be reached (${code})`, cause);
  return new TransientError(`${where}: the request failed (${e.name ?? 'Error'})`, cause);
}

function wrongRegion(e: S3ErrorLike, target: BucketTarget): string {
  const named = e.Region ?? e.$response?.headers?.['x-amz-bucket-region'];
  // Quoted only when it looks like a region: it is the remote side's text.
  const actual = named !== undefined && /^[a-z0-9-]{1,40}$/.test(named) ? named : undefined;
  return actual
    ? `the bucket is in region "${actual}", but the region key of the storage Secret says "${target.region}"; set it to "${actual}"`
    : `the server refused the region "${target.region}"; check the region key of the storage Secret`;
}
