CREATE TABLE old_name (id int);
ALTER TABLE old_name RENAME TO new_name;
ALTER TABLE IF EXISTS nothing_here RENAME TO whatever;
