CREATE TABLE t (id int, n int, s varchar(50), f real, amount numeric(10,2), label text, at timestamp);
ALTER TABLE t ALTER COLUMN id TYPE bigint;
ALTER TABLE t ALTER n SET DATA TYPE smallint;
ALTER TABLE t ALTER COLUMN s TYPE text;
ALTER TABLE t ALTER COLUMN f TYPE double precision;
ALTER TABLE t ALTER COLUMN amount TYPE numeric(8,2);
ALTER TABLE t ALTER COLUMN label TYPE integer USING (label::integer + 1), ALTER COLUMN at TYPE timestamptz USING at AT TIME ZONE 'UTC';
