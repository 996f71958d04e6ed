/** The event contract: types, subjects, parsing, chain events and the decisions on them. */
export * from './types.ts';
export * from './subject.ts';
export * from './schema.ts';
export * from './parse.ts';
export * from './chain.ts';
export * from './decisions.ts';
