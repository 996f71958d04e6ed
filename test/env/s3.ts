/** The test environment's S3 server (versitygw): the embedded environment's starter. */
export { startS3, type S3Connection, type S3Environment } from '../../shared/local/embedded/s3.ts';
