CREATE TABLE issues (
    id bigint PRIMARY KEY,
    title varchar(255) NOT NULL DEFAULT '',
    body text,
    state smallint DEFAULT 1 NOT NULL,
    weight real,
    score double precision,
    price numeric(12,2) DEFAULT 0.0,
    created_at timestamp(3) with time zone DEFAULT now() NOT NULL,
    due date,
    payload jsonb DEFAULT '{}'::jsonb,
    confidential boolean DEFAULT false NOT NULL,
    uid uuid DEFAULT gen_random_uuid(),
    blob bytea
);
