CREATE DOMAIN email AS varchar(320) CHECK (VALUE LIKE '%@%');
CREATE DOMAIN positive_int AS integer NOT NULL DEFAULT 1;
CREATE DOMAIN tags AS text[];
CREATE TABLE contact (id int, address email, n positive_int, t tags, many email[]);
ALTER TABLE contact ALTER COLUMN n TYPE bigint;
ALTER DOMAIN email SET DEFAULT 'nobody@example.com';
CREATE DOMAIN unused AS text;
DROP DOMAIN unused;
