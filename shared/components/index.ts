/**
 * The component builders, by component, and the order deploy-components applies them in.
 * Re-exports for consumers; files inside shared/ import the modules directly.
 */
import type { ComponentName } from '../api/components.ts';
import { buildAuth } from './auth.ts';
import { buildKong } from './kong.ts';
import { buildMeta } from './meta.ts';
import { buildPostgrest } from './postgrest.ts';
import { buildRealtime } from './realtime.ts';
import { buildStorageApi } from './storage-api.ts';
import { buildStudio } from './studio.ts';
import type { ComponentBuilder } from './types.ts';

/** The builder of each component. */
export const COMPONENT_BUILDERS: Readonly<Record<ComponentName, ComponentBuilder>> = {
  kong: buildKong,
  auth: buildAuth,
  realtime: buildRealtime,
  postgrest: buildPostgrest,
  storageApi: buildStorageApi,
  meta: buildMeta,
  studio: buildStudio,
};

/**
 * The order components are applied in: the gateway first, then the services behind it in
 * the order clients depend on them (the reference operator's order, facts §2.9), Studio
 * last because it needs Kong and Meta.
 */
export const COMPONENT_APPLY_ORDER = [
  'kong',
  'auth',
  'postgrest',
  'realtime',
  'storageApi',
  'meta',
  'studio',
] as const satisfies readonly ComponentName[];

export type {
  BuildableProject,
  BuildInputs,
  ComponentBuild,
  ComponentBuilder,
  ConnectionUrlSpec,
  Manifest,
} from './types.ts';
export { ADDITIONAL_OWNED_ENV } from './env.ts';
export { KONG_CONFIG_KEYS } from './kong-config.ts';
