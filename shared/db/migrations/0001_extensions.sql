-- Extensions the Supabase services rely on, in the `extensions` schema as Supabase's own
-- images place them. pgcrypto and uuid-ossp are trusted extensions (PostgreSQL >= 13), so a
-- database owner without superuser may create them; pg_stat_statements is created only where
-- the server has it and the current user may create it (it is not trusted), and it is only
-- useful when the server preloads it (shared_preload_libraries).
CREATE SCHEMA IF NOT EXISTS extensions;

CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA extensions;

DO $$
BEGIN
  IF EXISTS (
    SELECT 1
    FROM pg_available_extension_versions v
    WHERE v.name = 'pg_stat_statements'
      AND (v.trusted OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user))
  ) THEN
    CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA extensions;
  END IF;
END
$$;
