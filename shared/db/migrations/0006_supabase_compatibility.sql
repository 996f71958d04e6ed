-- What Supabase's own database initialisation (the supabase/postgres image's init scripts,
-- which supabase/supabase's docker setup runs) prepares and the services rely on, that 0001-0005
-- did not: the roles the services' own migrations name, the grants a policy or a function
-- needs to call auth.uid(), Storage's default privileges, Realtime's publication, the API
-- roles' statement timeouts, and the GraphQL entry point. README.md beside this file lists
-- what is taken, what is left out, and why. Every step is conditional, so a database prepared
-- by Supabase's image (where all of this exists, owned by supabase_admin) is left as it is.

-- Roles referred to by name: GoTrue's and Storage's migrations grant to `postgres`, which
-- a server whose superuser has another name lacks; Realtime and Supabase's tooling expect
-- supabase_admin, supabase_replication_admin and dashboard_user. They are created NOLOGIN
-- and without attributes: a reconciler never creates a superuser or a replication login;
-- a platform team that wants those gives them the attributes itself.
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['postgres', 'supabase_admin', 'supabase_replication_admin', 'dashboard_user'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION
        WHEN duplicate_object OR unique_violation THEN NULL;
      END;
    END IF;
  END LOOP;
END
$$;

-- Policies and SQL functions call auth.uid(), auth.role() and auth.jwt() as the API roles:
-- they need USAGE on schema auth (EXECUTE on the functions is PUBLIC's by default).
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role', 'postgres'] LOOP
    IF NOT has_schema_privilege(r, 'auth', 'USAGE') THEN
      EXECUTE format('GRANT USAGE ON SCHEMA auth TO %I', r);
    END IF;
    IF NOT has_schema_privilege(r, 'storage', 'USAGE') THEN
      EXECUTE format('GRANT USAGE ON SCHEMA storage TO %I', r);
    END IF;
  END LOOP;
  IF NOT has_schema_privilege('postgres', 'public', 'USAGE') THEN
    GRANT USAGE ON SCHEMA public TO postgres;
  END IF;
  IF NOT has_schema_privilege('postgres', 'extensions', 'USAGE') THEN
    GRANT USAGE ON SCHEMA extensions TO postgres;
  END IF;
END
$$;

-- Storage's migrations create its tables as supabase_storage_admin and grant the API roles
-- nothing unless DB_INSTALL_ROLES is true: default privileges give them what Supabase's image
-- gives them. Set only where missing (it needs membership in supabase_storage_admin).
DO $$
DECLARE
  kind text;
  object_type "char";
BEGIN
  FOREACH kind IN ARRAY ARRAY['TABLES', 'FUNCTIONS', 'SEQUENCES'] LOOP
    object_type := CASE kind WHEN 'TABLES' THEN 'r' WHEN 'FUNCTIONS' THEN 'f' ELSE 'S' END;
    IF NOT EXISTS (
      SELECT 1
      FROM pg_default_acl d
      WHERE d.defaclrole = 'supabase_storage_admin'::regrole
        AND d.defaclnamespace = 'storage'::regnamespace
        AND d.defaclobjtype = object_type
    ) THEN
      EXECUTE format(
        'ALTER DEFAULT PRIVILEGES FOR ROLE supabase_storage_admin IN SCHEMA storage GRANT ALL ON %s TO postgres, anon, authenticated, service_role',
        kind
      );
    END IF;
  END LOOP;
END
$$;

-- Realtime streams the changes of the tables a user adds to this publication (empty at first).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime') THEN
    CREATE PUBLICATION supabase_realtime;
  END IF;
END
$$;

-- Short statement timeouts for requests from the public API, as Supabase sets them. Set only
-- where the role has none (changing a role's settings needs ADMIN OPTION on it).
DO $$
DECLARE
  wanted CONSTANT text[][] := ARRAY[['anon', '3s'], ['authenticated', '8s']];
  i int;
BEGIN
  FOR i IN 1 .. array_length(wanted, 1) LOOP
    IF NOT EXISTS (
      SELECT 1
      FROM pg_db_role_setting s, unnest(s.setconfig) AS c(setting)
      WHERE s.setrole = wanted[i][1]::regrole
        AND s.setdatabase = 0
        AND c.setting LIKE 'statement_timeout=%'
    ) THEN
      EXECUTE format('ALTER ROLE %I SET statement_timeout = %L', wanted[i][1], wanted[i][2]);
    END IF;
  END LOOP;
END
$$;

-- GraphQL: pg_graphql where the server offers it and this user may create it (it is not a
-- trusted extension: a superuser, or a platform team that installed it). PostgREST serves
-- /graphql/v1 by calling graphql_public.graphql; without pg_graphql that function answers
-- with Supabase's own error, and init-db's condition says that pg_graphql is missing.
DO $$
BEGIN
  IF EXISTS (
    SELECT 1
    FROM pg_available_extension_versions v
    WHERE v.name = 'pg_graphql'
      AND (v.trusted OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user))
  ) THEN
    CREATE SCHEMA IF NOT EXISTS graphql;
    CREATE EXTENSION IF NOT EXISTS pg_graphql WITH SCHEMA graphql;
    GRANT USAGE ON SCHEMA graphql TO anon, authenticated, service_role;
    GRANT ALL ON ALL FUNCTIONS IN SCHEMA graphql TO anon, authenticated, service_role;
  END IF;
END
$$;

DO $$
BEGIN
  IF to_regprocedure('graphql_public.graphql(text, text, jsonb, jsonb)') IS NULL THEN
    -- PL/pgSQL resolves graphql.resolve when it runs, so the function exists (and answers
    -- with an error) whether or not pg_graphql is installed, and starts working once it is.
    CREATE FUNCTION graphql_public.graphql(
      "operationName" text DEFAULT NULL,
      query text DEFAULT NULL,
      variables jsonb DEFAULT NULL,
      extensions jsonb DEFAULT NULL
    )
    RETURNS jsonb
    LANGUAGE plpgsql
    AS $fn$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_graphql') THEN
        RETURN jsonb_build_object(
          'errors',
          jsonb_build_array(jsonb_build_object('message', 'pg_graphql extension is not enabled.'))
        );
      END IF;
      RETURN graphql.resolve(
        query := query,
        variables := coalesce(variables, '{}'),
        "operationName" := "operationName",
        extensions := extensions
      );
    END
    $fn$;
    GRANT EXECUTE ON FUNCTION graphql_public.graphql(text, text, jsonb, jsonb)
      TO anon, authenticated, service_role;
  END IF;
END
$$;
