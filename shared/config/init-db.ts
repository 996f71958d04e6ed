/**
 * Settings of the init-db function: which addresses it may dial (the database host comes from
 * a tenant's Secret), composed with the runtime's by parseConfig.
 */
import { egressSchema } from './egress.ts';
import type { ConfigOf, ConfigSchema } from './settings.ts';

/** init-db's own settings. */
export const initDbSchema = {
  ...egressSchema,
} satisfies ConfigSchema;

/** The parsed settings of init-db. */
export type InitDbConfig = ConfigOf<typeof initDbSchema>;
