CREATE TABLE base (id bigint PRIMARY KEY, name text DEFAULT 'n' NOT NULL, note varchar(10));
CREATE TABLE copy_plain (LIKE base);
CREATE TABLE copy_all (LIKE base INCLUDING ALL, extra int);
CREATE TABLE child (extra boolean) INHERITS (base);
CREATE TABLE measurements (id bigint NOT NULL, at date NOT NULL, v real) PARTITION BY RANGE (at);
CREATE TABLE measurements_2024 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
ALTER TABLE measurements ADD COLUMN unit text;
ALTER TABLE base ADD COLUMN flag boolean;
ALTER TABLE ONLY base ADD COLUMN only_base int;
