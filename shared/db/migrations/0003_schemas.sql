-- The schemas the services own or use. Ownership goes to the service's login role so its own
-- migrations (GoTrue's, Storage's, Realtime's) can create their tables; a schema that exists
-- already (the supabase/postgres image creates them) keeps its owner.
CREATE SCHEMA IF NOT EXISTS auth AUTHORIZATION supabase_auth_admin;
CREATE SCHEMA IF NOT EXISTS storage AUTHORIZATION supabase_storage_admin;
CREATE SCHEMA IF NOT EXISTS realtime;
-- Realtime keeps its own bookkeeping here (DB_AFTER_CONNECT_QUERY sets its search_path).
CREATE SCHEMA IF NOT EXISTS _realtime;
CREATE SCHEMA IF NOT EXISTS graphql_public;

-- GoTrue >= 2.177 migrations assume these enum types exist (supabase/auth#1729).
DO $$
BEGIN
  CREATE TYPE auth.factor_type AS ENUM ('totp', 'webauthn');
EXCEPTION
  WHEN duplicate_object THEN NULL;
END
$$;
DO $$
BEGIN
  CREATE TYPE auth.code_challenge_method AS ENUM ('s256', 'plain');
EXCEPTION
  WHEN duplicate_object THEN NULL;
END
$$;
ALTER TYPE auth.factor_type OWNER TO supabase_auth_admin;
ALTER TYPE auth.code_challenge_method OWNER TO supabase_auth_admin;

-- Each service finds its own tables first. Set only where missing: changing a role's settings
-- needs ADMIN OPTION on it, which a database user who did not create the role lacks.
DO $$
DECLARE
  wanted CONSTANT text[][] := ARRAY[
    ['supabase_auth_admin', 'auth'],
    ['supabase_storage_admin', 'storage']
  ];
  i int;
BEGIN
  FOR i IN 1 .. array_length(wanted, 1) LOOP
    IF NOT EXISTS (
      SELECT 1
      FROM pg_db_role_setting s
      WHERE s.setrole = wanted[i][1]::regrole
        AND s.setdatabase = 0
        AND format('search_path=%s', wanted[i][2]) = ANY (s.setconfig)
    ) THEN
      EXECUTE format('ALTER ROLE %I SET search_path = %I', wanted[i][1], wanted[i][2]);
    END IF;
  END LOOP;
END
$$;
