/**
 * What finalize tells a user, in conditions and Events: what the deletion policy does, and
 * what a deletion left behind. Names of databases and objects only, never a secret value.
 */
import { EVENT_REASON } from '../../shared/api/reasons.ts';
import type { DeletionPolicy } from '../../shared/api/types.ts';
import { MIGRATION_OBJECTS } from '../../shared/db/inventory.ts';
import { CLAIM_ROLE } from '../../shared/db/role-passwords.ts';
import type { TeardownReport } from '../../shared/db/teardown.ts';
import type { EventRecord } from '../../shared/k8s/events.ts';
import { FORCE_DELETE_ANNOTATION } from './decide.ts';

/** Progressing's message while finalize works. */
export function workMessage(policy: DeletionPolicy): string {
  return policy === 'Retain'
    ? "deleting: deletionPolicy Retain keeps the database; releasing this project's claim on the login roles, then removing the finalizer"
    : 'deleting: deletionPolicy Delete drops what init-db created in the database (nothing else), then the finalizer is removed';
}

const CLAIM_NOTE = `this project's claim on the server's login roles (the comment on role ${CLAIM_ROLE}), if it held one, was not released: another project on that server will be told so; release it with COMMENT ON ROLE ${CLAIM_ROLE} IS NULL`;

/** What a deletion without its database work leaves behind, by policy. */
export function leftBehind(policy: DeletionPolicy, database?: string): string {
  const where = database ? `database "${database}"` : 'the database';
  if (policy === 'Retain') return `${where} is kept (deletionPolicy Retain); ${CLAIM_NOTE}`;
  return (
    `nothing was dropped: ${where} keeps what init-db created there (${catalogue()}). ` +
    `The table supabase_reconciler.pre_existing_objects lists which of them existed before init-db (existed = true); drop the others by hand if nothing else uses them. Also ${CLAIM_NOTE}`
  );
}

/** What init-db's migrations may create, for messages. */
function catalogue(): string {
  const list = (kind: keyof typeof MIGRATION_OBJECTS) => MIGRATION_OBJECTS[kind].join(', ');
  return `where they did not exist before: schemas ${list('schema')}; extensions ${list('extension')}; publication ${list('publication')}; and on the server the roles ${list('role')}`;
}

/** The Warning Event of a deletion forced by annotation. */
export function forcedEvent(policy: DeletionPolicy): EventRecord {
  return {
    type: 'Warning',
    reason: EVENT_REASON.DatabaseCleanupSkipped,
    message: `deleted without touching the database, as the annotation ${FORCE_DELETE_ANNOTATION} asks: ${leftBehind(policy)}`,
  };
}

/** The Warning Event of a deletion whose database could not be worked on. */
export function skippedEvent(
  policy: DeletionPolicy,
  why: string,
  database: string | undefined,
): EventRecord {
  return {
    type: 'Warning',
    reason: EVENT_REASON.DatabaseCleanupSkipped,
    message: `deleted without the database work (${why}): ${leftBehind(policy, database)}`,
  };
}

/** The Event that reports a teardown. */
export function reportEvent(
  policy: DeletionPolicy,
  report: TeardownReport,
  database: string,
): EventRecord {
  const claim = report.claimReleased ? "; this project's claim on the login roles released" : '';
  const kept = report.kept.length > 0 ? `; kept: ${report.kept.join('; ')}` : '';
  const type = report.kept.length > 0 ? 'Warning' : 'Normal';
  if (policy === 'Retain') {
    return {
      type,
      reason: EVENT_REASON.DatabaseRetained,
      message: `deletionPolicy Retain: database "${database}" kept as it is${claim}${kept}`,
    };
  }
  switch (report.inventory) {
    case 'missing':
      return {
        type: 'Warning',
        reason: EVENT_REASON.DatabaseCleanupSkipped,
        message: `deletionPolicy Delete: database "${database}" was initialised by a reconciler version that did not record what existed before init-db, so init-db's objects cannot be told from yours and nothing was dropped (as Retain)${claim}${kept}. Drop by hand what init-db created and you no longer need (${catalogue()})`,
      };
    case 'no-ledger':
      return {
        type,
        reason: EVENT_REASON.DatabaseDeleted,
        message: `deletionPolicy Delete: database "${database}" holds no ledger of the reconciler (never initialised, or cleaned already): nothing to drop${claim}${kept}`,
      };
    default:
      return {
        type,
        reason: EVENT_REASON.DatabaseDeleted,
        message: `deletionPolicy Delete: database "${database}": dropped ${report.dropped.length > 0 ? report.dropped.join(', ') : 'nothing'}${claim}${kept}`,
      };
  }
}
