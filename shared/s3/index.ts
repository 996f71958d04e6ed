/** The external S3 bucket: targets, the connectivity probe and its error translation. */
export * from './target.ts';
export * from './errors.ts';
export * from './probe.ts';
