/**
 * The SupabaseProject API for consumers outside shared/api/ (functions, other shared
 * folders, tests). A pure re-export; files inside shared/api/ import each other directly.
 */
export * from './group-version.ts';
export * from './components.ts';
export * from './phases.ts';
export * from './conditions.ts';
export * from './secret-keys.ts';
export * from './resource-names.ts';
export * from './owned-env.ts';
export * from './default-images.ts';
export * from './enabled-components.ts';
export * from './reference-operator.ts';
export type * from './types.ts';
export {
  SSL_MODES,
  SPEC_DEFAULTS,
  MAX_CONNECTIONS,
  PROJECT_ID_MAX_LENGTH,
  SupabaseProjectSpecSchema,
} from './schema/spec.ts';
export { REPLICAS, MAX_EXTRA_ENV } from './schema/common.ts';
export { SupabaseProjectStatusSchema } from './schema/status.ts';
export { IMAGE_REFERENCE_PATTERN } from './schema/cel.ts';
export {
  supabaseProjectCrd,
  supabaseProjectOpenApiSchema,
  PRINTER_COLUMNS,
  type CustomResourceDefinitionManifest,
} from './crd.ts';
export { renderCrdYaml, CRD_YAML_PATH } from './crd-yaml.ts';
