/**
 * Which components a project runs. Only Studio can be switched off (`studio.enabled`); a
 * component with `replicas: 0` is still enabled, just scaled to zero, so its objects stay.
 */
import { COMPONENTS, type ComponentName } from './components.ts';
import { SPEC_DEFAULTS } from './schema/spec.ts';
import type { SupabaseProjectSpec } from './types.ts';

/**
 * Whether the spec asks for a component to exist.
 * @param spec - the project's spec
 * @param component - the component
 */
export function isComponentEnabled(spec: SupabaseProjectSpec, component: ComponentName): boolean {
  if (component === 'studio') return spec.studio?.enabled ?? SPEC_DEFAULTS.studioEnabled;
  return true;
}

/**
 * The components the spec asks for, in {@link COMPONENTS} order.
 * @param spec - the project's spec
 */
export function enabledComponents(spec: SupabaseProjectSpec): ComponentName[] {
  return COMPONENTS.filter((component) => isComponentEnabled(spec, component));
}
