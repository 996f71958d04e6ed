-- The roles the Supabase services use (the same names and attributes as Supabase's
-- supabase/postgres image, which may have created them already: each is created only if
-- absent and an existing role is left as it is).
--   anon, authenticated, service_role  API roles PostgREST switches to per request (JWT `role`)
--   authenticator                      PostgREST's login role; NOINHERIT, it only SETs ROLE
--   supabase_auth_admin                GoTrue's login role, owner of schema auth
--   supabase_storage_admin             Storage API's login role, owner of schema storage
-- Login roles get the database Secret's password from the reconciler, not from this file.
-- Roles belong to the whole server, not to one database: projects in other databases of the
-- same server may create them at the same moment, hence the exception handlers.
DO $$
DECLARE
  wanted CONSTANT text[][] := ARRAY[
    ['anon', 'NOLOGIN NOINHERIT'],
    ['authenticated', 'NOLOGIN NOINHERIT'],
    -- BYPASSRLS: the service key must see every row whatever the policies say.
    ['service_role', 'NOLOGIN NOINHERIT BYPASSRLS'],
    ['authenticator', 'LOGIN NOINHERIT'],
    ['supabase_auth_admin', 'LOGIN NOINHERIT CREATEROLE'],
    ['supabase_storage_admin', 'LOGIN NOINHERIT CREATEROLE']
  ];
  i int;
BEGIN
  FOR i IN 1 .. array_length(wanted, 1) LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = wanted[i][1]) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I %s', wanted[i][1], wanted[i][2]);
      EXCEPTION
        WHEN duplicate_object OR unique_violation THEN NULL;
      END;
    END IF;
  END LOOP;
END
$$;

-- Memberships, granted only where missing, so that a database user who did not create the
-- roles (they came with the image) needs no ADMIN OPTION on them.
DO $$
DECLARE
  grants CONSTANT text[][] := ARRAY[
    -- PostgREST connects as authenticator and switches to the role named in the JWT.
    ['anon', 'authenticator'],
    ['authenticated', 'authenticator'],
    ['service_role', 'authenticator'],
    -- GoTrue and Storage hand out these roles to the rows they create.
    ['anon', 'supabase_auth_admin'],
    ['authenticated', 'supabase_auth_admin'],
    ['service_role', 'supabase_auth_admin'],
    ['anon', 'supabase_storage_admin'],
    ['authenticated', 'supabase_storage_admin'],
    ['service_role', 'supabase_storage_admin']
  ];
  i int;
BEGIN
  FOR i IN 1 .. array_length(grants, 1) LOOP
    IF NOT pg_has_role(grants[i][2], grants[i][1], 'MEMBER') THEN
      EXECUTE format('GRANT %I TO %I', grants[i][1], grants[i][2]);
    END IF;
  END LOOP;
  -- Creating a schema owned by another role needs SET ROLE to it; a superuser has that.
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    IF NOT pg_has_role(current_user, 'supabase_auth_admin', 'MEMBER') THEN
      EXECUTE format('GRANT supabase_auth_admin TO %I', current_user);
    END IF;
    IF NOT pg_has_role(current_user, 'supabase_storage_admin', 'MEMBER') THEN
      EXECUTE format('GRANT supabase_storage_admin TO %I', current_user);
    END IF;
  END IF;
END
$$;
