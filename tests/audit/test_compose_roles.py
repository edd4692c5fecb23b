"""docker-compose.yml connects the application as the app role, never as the owner or a superuser (finding 15).

There is no Docker engine here: the file is read as data, and its PostgreSQL init script is run against the
local PostgreSQL (a scratch database and two roles of its own, dropped afterwards). The whole flow — script,
migrate as the owner, grant_app_role, the app as the app role — is what tests/audit/test_db_roles.py proves
on the test database.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
INIT_SCRIPT = ROOT / "docker" / "postgres-init" / "10-loancenter-roles.sh"
DATABASE_URL = os.environ.get("DATABASE_URL", "")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _user(url: str) -> str:
    return urlsplit(re.sub(r"\$\{[^}]*\}", "password", url)).username  # compose's ${VAR:?…} as a password


@pytest.mark.sidedoor(rule="audit", path="command: docker compose up (web, worker, beat connect as the app role)")
def test_web_worker_and_beat_connect_as_the_app_role(compose):
    for name in ("web", "worker", "beat"):
        env = compose["services"][name]["environment"]
        assert _user(env["DATABASE_URL"]) == "loancenter_app", name
        assert env["POSTGRES_PASSWORD"] == "" and env["DB_OWNER_PASSWORD"] == "", name  # no other password
        assert "migrate" not in str(compose["services"][name].get("command", "")), name


def test_migrate_runs_as_the_owner_then_grants_the_app_role(compose):
    migrate = compose["services"]["migrate"]
    assert _user(migrate["environment"]["DATABASE_URL"]) == "loancenter_owner"
    command = " ".join(migrate["command"].split())
    assert command.index("manage.py migrate") < command.index("manage.py grant_app_role loancenter_app")
    assert migrate["restart"] == "no"
    assert compose["services"]["web"]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_the_database_container_never_gets_the_audit_key(compose):
    postgres = compose["services"]["postgres"]
    assert "env_file" not in postgres
    assert not any("AUDIT" in key for key in postgres["environment"])
    assert "./docker/postgres-init:/docker-entrypoint-initdb.d:ro" in postgres["volumes"]
    script = INIT_SCRIPT.read_text()
    assert 'DB_OWNER="${DB_OWNER:-loancenter_owner}"' in script and 'DB_APP="${DB_APP:-loancenter_app}"' in script


# --- the init script on the local PostgreSQL -------------------------------------------------------------------

def needs_postgres(test):
    test = pytest.mark.skipif(shutil.which("psql") is None, reason="needs psql")(test)
    test = pytest.mark.skipif(not DATABASE_URL.startswith(("postgres://", "postgresql://")),
                              reason="needs PostgreSQL: set DATABASE_URL=postgres://… (CI does)")(test)
    return pytest.mark.postgres(test)


@pytest.fixture
def scratch():
    """Names for a database and two roles of this test's own, and a superuser connection; all dropped afterwards."""
    url = urlsplit(DATABASE_URL)
    suffix = secrets.token_hex(4)
    names = {"DB_NAME": f"lc_compose_{suffix}", "DB_OWNER": f"lc_owner_{suffix}", "DB_APP": f"lc_app_{suffix}"}
    admin = psycopg2.connect(host=url.hostname, port=url.port or 5432, user=url.username, password=url.password,
                             dbname="postgres")
    admin.autocommit = True
    env = {**os.environ, **names, "PGHOST": url.hostname, "PGPORT": str(url.port or 5432),
           "POSTGRES_USER": url.username, "DB_OWNER_PASSWORD": secrets.token_hex(12),
           "DB_APP_PASSWORD": secrets.token_hex(12)}
    if url.password:
        env["PGPASSWORD"] = url.password
    try:
        yield names, env, admin
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{names["DB_NAME"]}" WITH (FORCE)')
            cursor.execute(f'DROP ROLE IF EXISTS "{names["DB_APP"]}"')
            cursor.execute(f'DROP ROLE IF EXISTS "{names["DB_OWNER"]}"')
        admin.close()


def _run(env) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=120)


@needs_postgres
def test_the_init_script_makes_the_roles_and_the_database(scratch):
    names, env, admin = scratch

    first, again = _run(env), _run(env)

    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr  # idempotent
    with admin.cursor() as cursor:
        cursor.execute("SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolinherit, rolcanlogin FROM pg_roles "
                       "WHERE rolname IN (%s, %s) ORDER BY rolname = %s", [names["DB_OWNER"], names["DB_APP"],
                                                                           names["DB_APP"]])
        assert cursor.fetchall() == [(names["DB_OWNER"], False, False, False, True, True),
                                     (names["DB_APP"], False, False, False, False, True)]
        cursor.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [names["DB_NAME"]])
        assert cursor.fetchone() == (names["DB_OWNER"],)


@needs_postgres
def test_the_init_script_hands_an_older_database_to_the_owner(scratch):
    """A database an older docker-compose.yml made as the superuser: its tables and functions go to the owner."""
    names, env, admin = scratch
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{names["DB_NAME"]}"')
    url = urlsplit(DATABASE_URL)
    old = psycopg2.connect(host=url.hostname, port=url.port or 5432, user=url.username, password=url.password,
                           dbname=names["DB_NAME"])
    old.autocommit = True
    with old.cursor() as cursor:
        cursor.execute("CREATE TABLE loancenter_auditentry (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)")
        cursor.execute("CREATE SEQUENCE standalone_seq")
        cursor.execute("CREATE FUNCTION loancenter_auditentry_immutable() RETURNS trigger AS $$ BEGIN RETURN NULL; "
                       "END; $$ LANGUAGE plpgsql")

    result = _run(env)

    assert result.returncode == 0, result.stderr
    with old.cursor() as cursor:
        cursor.execute("SELECT relname, pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = "
                       "'public'::regnamespace AND relkind IN ('r', 'S') ORDER BY relname")
        assert {owner for _name, owner in cursor.fetchall()} == {names["DB_OWNER"]}
        cursor.execute("SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'loancenter_auditentry_immutable'")
        assert cursor.fetchone() == (names["DB_OWNER"],)
    old.close()
