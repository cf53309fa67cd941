#!/bin/bash
# Creates the portal's two database roles when the db container initialises an empty data
# folder (the postgres image runs /docker-entrypoint-initdb.d/* once, as the superuser
# named by POSTGRES_USER, which only this container uses). docs/operations.md, "Database
# roles", explains both roles and gives the same SQL for a database you run yourself.
#
#   owner   (DATABASE_OWNER_USER) owns the schema and every table; `manage.py migrate`
#           runs as it (the compose `migrate` service).
#   runtime (DATABASE_APP_USER) is what web, worker and scheduler connect as: no superuser,
#           no CREATEDB/CREATEROLE, owns nothing, and may only read and write rows. Its
#           rights on tables come from the owner's default privileges, so tables created
#           by later migrations are covered; each `migrate` then takes UPDATE, DELETE and
#           TRUNCATE on the audit table back from everyone but the owner (docs/audit.md).
#
# Passwords come only from the environment and reach psql as variables (quoted by psql,
# never pasted into the SQL text). The body runs in a subshell, so it works the same
# whether the entrypoint executes this file or sources it (a file without the executable
# bit), and its shell options never leak into the entrypoint.
init_roles() (
set -euo pipefail

: "${POSTGRES_USER:?}" "${POSTGRES_DB:?}"
: "${DATABASE_OWNER_USER:?set DATABASE_OWNER_USER}" "${DATABASE_OWNER_PASSWORD:?set DATABASE_OWNER_PASSWORD}"
: "${DATABASE_APP_USER:?set DATABASE_APP_USER}" "${DATABASE_APP_PASSWORD:?set DATABASE_APP_PASSWORD}"

psql --no-psqlrc --set=ON_ERROR_STOP=1 --username="$POSTGRES_USER" --dbname="$POSTGRES_DB" \
    --set=db="$POSTGRES_DB" \
    --set=owner="$DATABASE_OWNER_USER" --set=owner_password="$DATABASE_OWNER_PASSWORD" \
    --set=app="$DATABASE_APP_USER" --set=app_password="$DATABASE_APP_PASSWORD" <<'SQL'
\set QUIET on
BEGIN;

-- The owner role: owns the schema (and so every table migrate creates); not a superuser.
CREATE ROLE :"owner" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'owner_password';

-- The runtime role: the application's everyday connection. Owns nothing.
CREATE ROLE :"app" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'app_password';

-- Only these two roles (and the superuser) may connect. TEMPORARY is for the staging table
-- that `manage.py load_gazetteer` fills.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"owner";
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app";

-- The schema belongs to the owner; the runtime role may use it but not create in it.
ALTER SCHEMA public OWNER TO :"owner";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app";

-- Rows and sequences of every table the owner creates from now on.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO :"app";

COMMIT;
SQL

echo "init-roles: created owner role ${DATABASE_OWNER_USER} and runtime role ${DATABASE_APP_USER}"
)

init_roles
