-- The names Keycloak's admin API shows and edits (firstName, lastName).
ALTER TABLE users ADD COLUMN first_name TEXT;
ALTER TABLE users ADD COLUMN last_name TEXT;
