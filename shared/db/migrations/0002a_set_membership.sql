-- PostgreSQL 16 split role membership into ADMIN, INHERIT and SET. The creator of a role now
-- holds ADMIN OPTION on it but neither INHERIT nor SET, so a database user who is not a
-- superuser and created the services' roles in 0002 is a "member" that cannot SET ROLE to
-- them, and 0003 (schemas owned by supabase_auth_admin and supabase_storage_admin) fails with
-- "must be able to SET ROLE". Grant the database user SET (and, following its own INHERIT
-- attribute, INHERIT) on those roles, as itself: its ADMIN OPTION allows it. It runs between
-- 0002 and 0003 (applied migrations are never edited); databases that are past 0003 already
-- have what it grants.
DO $$
DECLARE
  r text;
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    RETURN;
  END IF;
  -- Before 16 membership is all or nothing, and 0002 granted it where it was missing.
  IF current_setting('server_version_num')::int < 160000 THEN
    RETURN;
  END IF;
  FOREACH r IN ARRAY ARRAY['supabase_auth_admin', 'supabase_storage_admin'] LOOP
    IF NOT pg_has_role(current_user, r, 'SET') THEN
      EXECUTE format('GRANT %I TO %I WITH SET TRUE', r, current_user);
    END IF;
  END LOOP;
END
$$;
