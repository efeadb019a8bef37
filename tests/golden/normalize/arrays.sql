CREATE TABLE arr (
    a text[],
    b bigint[][],
    c integer ARRAY,
    d varchar(10)[3],
    e timestamp(3) with time zone[],
    f numeric(5,1)[]
);
ALTER TABLE arr ALTER COLUMN a TYPE varchar(20)[];
