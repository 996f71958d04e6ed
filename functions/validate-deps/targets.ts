/**
 * From the checked storage Secret and `spec.storage` to the bucket the probe reaches. A bare
 * host is taken as `https://<host>` (shared/s3 normaliseEndpoint); an endpoint that cannot be
 * an http(s) URL is refused here, without quoting it (a URL may carry credentials).
 */
import {
  SPEC_DEFAULTS,
  STORAGE_SECRET_KEYS as S3,
  type StorageSpec,
} from '../../shared/api/index.ts';
import { PermanentError } from '../../shared/runtime/errors.ts';
import { endpointProblem, normaliseEndpoint, type BucketTarget } from '../../shared/s3/target.ts';
import type { Sensitive } from '../../shared/secrets/sensitive.ts';

/** The storage Secret's required values. */
export type StorageSecretValues = Readonly<Record<(typeof S3)[keyof typeof S3], Sensitive>>;

/**
 * The bucket the storage Secret and `spec.storage` describe.
 * @param name - the Secret's name, for the message
 * @throws PermanentError S3EndpointInvalid when `endpoint` is not an http(s) URL
 */
export function bucketTarget(
  values: StorageSecretValues,
  spec: StorageSpec,
  name: string,
): BucketTarget {
  const { endpoint, schemeAssumed } = normaliseEndpoint(values.endpoint.reveal().trim());
  const problem = endpointProblem(endpoint);
  if (problem) {
    throw new PermanentError(
      'S3EndpointInvalid',
      `the storage Secret "${name}" has an "${S3.endpoint}" that ${problem}`,
    );
  }
  return {
    endpoint,
    region: values.region.reveal().trim(),
    bucket: values.bucket.reveal().trim(),
    accessKeyId: values.accessKeyId,
    secretAccessKey: values.secretAccessKey,
    forcePathStyle: spec.forcePathStyle ?? SPEC_DEFAULTS.forcePathStyle,
    schemeAssumed,
  };
}
