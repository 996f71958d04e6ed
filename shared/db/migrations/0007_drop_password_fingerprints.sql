-- The login roles' passwords are now checked by logging in as each role with the database
-- Secret's password (shared/db/role-passwords.ts), because those roles belong to the whole
-- server: a fingerprint kept in one database could not see a change made by another project
-- or by hand. The per-database fingerprint state of 0005 is no longer read.
DROP TABLE IF EXISTS supabase_reconciler.role_passwords;
DROP TABLE IF EXISTS supabase_reconciler.fingerprint_key;
