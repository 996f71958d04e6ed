/** The status library: conditions, reasons and the one write path. */
export * from './conditions.ts';
export * from './write.ts';
