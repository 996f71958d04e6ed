/**
 * Settings of the finalize function: which addresses it may dial (the database host comes from
 * a tenant's Secret), composed with the runtime's by parseConfig.
 */
import { egressSchema } from './egress.ts';
import type { ConfigOf, ConfigSchema } from './settings.ts';

/** finalize's own settings. */
export const finalizeSchema = {
  ...egressSchema,
} satisfies ConfigSchema;

/** The parsed settings of finalize. */
export type FinalizeConfig = ConfigOf<typeof finalizeSchema>;
