CREATE TABLE t (id int, a text, b int);
ALTER TABLE ONLY t
    ADD COLUMN c text DEFAULT lower('X'),
    ALTER COLUMN c SET NOT NULL,
    DROP COLUMN a,
    ALTER COLUMN b TYPE bigint USING b::bigint,
    ALTER COLUMN b SET DEFAULT 0,
    ADD CONSTRAINT t_b_check CHECK (b >= 0),
    OWNER TO CURRENT_USER;
