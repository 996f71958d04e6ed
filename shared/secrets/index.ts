/**
 * Secret values and key material for consumers outside shared/secrets/ (functions, other
 * shared folders, tests): the Sensitive wrapper, key names, generation, the key-encoding
 * convention, API keys and their checks. A pure re-export.
 */
export * from './sensitive.ts';
export * from './names.ts';
export * from './generate.ts';
export * from './conventions.ts';
export * from './api-keys.ts';
export * from './validate.ts';
export * from './reference-operator.ts';
