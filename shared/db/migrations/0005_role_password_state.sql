-- What the reconciler keeps in order to set the login roles' passwords only when the database
-- Secret's password changed (shared/db/role-passwords.ts): a random key, and per role an
-- HMAC-SHA-256 of the password last set under that key. Never the password itself.
CREATE TABLE IF NOT EXISTS supabase_reconciler.fingerprint_key (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  key bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS supabase_reconciler.role_passwords (
  role name PRIMARY KEY,
  fingerprint text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Only the database user (their owner) may read them.
REVOKE ALL ON supabase_reconciler.fingerprint_key, supabase_reconciler.role_passwords FROM PUBLIC;
