/**
 * Ends the process with a clear message and exit code 1, for entry points whose
 * implementation has not landed yet. Writing to stderr directly: no logger exists yet
 * at this point of start-up.
 * @param what - what is missing, in a sentence
 */
export function notYetImplemented(what: string): never {
  process.stderr.write(`supabase-reconciler: ${what}\n`);
  process.exit(1);
}
