CREATE SCHEMA "App";
CREATE TABLE "App"."User Accounts" ("Id" int NOT NULL, "select" text, plain int);
ALTER TABLE ONLY "App"."User Accounts" RENAME COLUMN "select" TO "Select";
ALTER TABLE "App"."User Accounts" ADD COLUMN "Mixed Case" boolean;
CREATE TABLE public.qualified (id int);
ALTER TABLE qualified ADD COLUMN x int;
