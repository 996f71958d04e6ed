/** What every phase function does around its own work. */
export * from './project-store.ts';
export * from './phase.ts';
export * from './finalizer.ts';
