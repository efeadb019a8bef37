CREATE TABLE users (id int, confirmed_at timestamptz);
DO $$
BEGIN
  IF NOT EXISTS (SELECT * FROM information_schema.columns
                 WHERE table_name = 'users' AND column_name = 'email_confirmed_at') THEN
    ALTER TABLE users RENAME COLUMN confirmed_at TO email_confirmed_at;
  END IF;
END $$;
DO $$
BEGIN
  IF NOT EXISTS (SELECT * FROM information_schema.columns
                 WHERE table_name = 'users' AND column_name = 'email_confirmed_at') THEN
    ALTER TABLE users RENAME COLUMN confirmed_at TO email_confirmed_at;
  END IF;
END $$;
DO $$ BEGIN
    CREATE TYPE factor_type AS ENUM ('totp', 'webauthn');
EXCEPTION
    WHEN duplicate_object THEN NULL;
END $$;
DO $$ BEGIN
    CREATE TYPE factor_type AS ENUM ('totp', 'webauthn');
EXCEPTION
    WHEN duplicate_object THEN NULL;
END $$;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM users WHERE id = 0) THEN
    INSERT INTO users (id) VALUES (0);
  END IF;
END $$;
DO $$ BEGIN ALTER TABLE users ADD COLUMN factor factor_type; END $$;
DO $$ BEGIN EXECUTE 'ALTER TABLE users DROP COLUMN factor'; END $$;
DO $$ DECLARE t text; BEGIN FOR t IN SELECT 'a' LOOP ALTER TABLE users ADD COLUMN x int; END LOOP; END $$;
DO $$ BEGIN ALTER TABLE nowhere ADD COLUMN x int; END $$;
DO LANGUAGE plperl $$ print 1 $$;
