#!/bin/sh
# The two database roles (README, "Two database roles"), run as the cluster's superuser ($POSTGRES_USER).
#
# The postgres image runs this once, when it initialises an empty data directory (docker-entrypoint-initdb.d).
# It is also the upgrade step for a stack created before the two roles (README): run by hand, it creates what is
# missing and gives the owner role the database and everything in its public schema. Running it again changes
# nothing. It never touches the application's grants: `manage.py grant_app_role` (the migrate service) makes them.
#
#   DB_OWNER / DB_OWNER_PASSWORD  migrates and owns the tables (default loancenter_owner)
#   DB_APP / DB_APP_PASSWORD      the web, worker and beat containers connect as it (default loancenter_app)
#   DB_NAME                       the application's database (default loancenter)
set -eu
: "${DB_OWNER_PASSWORD:?set DB_OWNER_PASSWORD}" "${DB_APP_PASSWORD:?set DB_APP_PASSWORD}"
DB_NAME="${DB_NAME:-loancenter}"
DB_OWNER="${DB_OWNER:-loancenter_owner}"
DB_APP="${DB_APP:-loancenter_app}"
PSQL="psql -v ON_ERROR_STOP=1 -X -q --username ${POSTGRES_USER:-postgres}"

$PSQL --dbname postgres -v owner="$DB_OWNER" -v owner_password="$DB_OWNER_PASSWORD" -v app="$DB_APP" \
  -v app_password="$DB_APP_PASSWORD" -v db="$DB_NAME" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'owner', :'owner_password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
-- The app role owns nothing and inherits nothing: it gets exactly what grant_app_role grants.
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD %L', :'app', :'app_password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'owner') \gexec
SQL

# An existing database (created by an older docker-compose.yml as the superuser): its tables, sequences, views and
# functions in the public schema go to the owner role, so that migrations run as the owner from now on.
$PSQL --dbname "$DB_NAME" -v owner="$DB_OWNER" <<'SQL'
SELECT format('ALTER %s %I.%I OWNER TO %I',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                             ELSE 'TABLE' END,
              n.nspname, c.relname, :'owner')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
   AND pg_get_userbyid(c.relowner) <> :'owner'
   -- a sequence owned by a column follows its table
   AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
 ORDER BY c.relkind DESC \gexec
SELECT format('ALTER FUNCTION %s OWNER TO %I', p.oid::regprocedure, :'owner')
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> :'owner' \gexec
SQL
echo "loancenter roles: $DB_OWNER owns $DB_NAME; $DB_APP awaits grant_app_role"
