"""Two database roles on PostgreSQL (SPEC §10, §16.15; issue 13 finding 15, part 10).

The owner role migrates and owns the tables; the application connects with an app role that
``manage.py grant_app_role`` grants: it may INSERT and SELECT audit rows and nothing else on them.
The module creates its own app role (roles belong to the whole cluster: a random name, dropped at the end),
grants it with the command and connects as it. The test database's own user (``postgres`` in CI) plays the owner.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from io import StringIO

import psycopg2
import pytest
from django.conf import settings
from django.core import checks
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from applications.models import Loan, Status
from loancenter import audit as audit_chain
from loancenter.lib.dates import today
from loancenter.models import AuditEntry
from tests.audit.support import plain_sha256, rewrite_with_plain_sha256, triggers_off, truncate_audit_table

DATABASE_URL = os.environ.get("DATABASE_URL", "")
RULE = "audit"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not DATABASE_URL.startswith(("postgres://", "postgresql://")),
                       reason="needs PostgreSQL: set DATABASE_URL=postgres://… (CI does)"),
]


def _params(**override) -> dict:
    db = connection.settings_dict
    params = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "dbname": db["NAME"],
              "user": db["USER"], "password": db["PASSWORD"] or None}
    return params | override


def _admin():
    """A connection of the test database's own user, outside the test's transaction (roles are cluster-wide)."""
    conn = psycopg2.connect(**_params())
    conn.autocommit = True
    return conn


class AppRole:
    def __init__(self, name: str, password: str):
        self.name, self.password = name, password

    def connect(self):
        # A lock wait would hang the test (its own transaction holds the rows): fail instead.
        conn = psycopg2.connect(**_params(user=self.name, password=self.password), options="-c lock_timeout=10s")
        conn.autocommit = True
        return conn

    @property
    def url(self) -> str:
        p = _params()
        return f"postgres://{self.name}:{self.password}@{p['host']}:{p['port']}/{p['dbname']}"


@pytest.fixture(scope="module")
def app_role(django_db_setup, django_db_blocker):
    """One app role for the module (and worker), dropped at its end with everything granted to it."""
    role = AppRole(f"lc_app_{secrets.token_hex(6)}", secrets.token_hex(16))
    with django_db_blocker.unblock():
        admin = _admin()
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role.name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %s',
                       [role.password])
    try:
        yield role
    finally:
        with admin.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role.name])
            cursor.execute(f'DROP OWNED BY "{role.name}"')  # its grants, here and on the database
            cursor.execute(f'DROP ROLE "{role.name}"')
        admin.close()


@pytest.fixture(scope="module")
def granted(app_role, django_db_blocker):
    """The app role as ``grant_app_role`` leaves it (committed, so that the role's own connections see it)."""
    out = StringIO()
    with django_db_blocker.unblock():
        call_command("grant_app_role", app_role.name, stdout=out)
    assert out.getvalue().startswith(f"granted {app_role.name} on ")
    return app_role


@pytest.fixture
def as_app(granted):
    conn = granted.connect()
    yield conn
    conn.close()


@pytest.fixture
def history(staff, flow, draft):
    """An approved loan's trail (committed: this module's tests are transactional)."""
    flow.advance(draft, Status.APPROVED)
    return list(AuditEntry.objects.order_by("id").values_list("id", "hash", "reason", "payload"))


def verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue().strip()


def broken() -> str:
    with pytest.raises(CommandError) as excinfo:
        verify()
    assert excinfo.value.returncode == 1
    return str(excinfo.value)


def run_as(role: AppRole, *args: str, code: str | None = None) -> subprocess.CompletedProcess:
    """``manage.py`` in a fresh process whose DATABASE_URL is the app role's: the application as deployed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(DATABASE_URL=role.url, DJANGO_SETTINGS_MODULE="loancenter.settings",
               AUDIT_HMAC_KEY=settings.AUDIT_HMAC_KEY, DEBUG="1")
    env.pop("REDIS_URL", None)
    command = [sys.executable, "manage.py", *args] + (["-c", code] if code else [])
    return subprocess.run(command, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=180)


# --- (a) what the app role may not do to the audit table ------------------------------------------------------

T = audit_chain.TABLE
REFUSED = [
    pytest.param(f"UPDATE {T} SET reason = 'rewritten' WHERE id = %(id)s", id="update",
                 marks=pytest.mark.sidedoor(rule=RULE, path="command: psql as the app role: UPDATE an audit row")),
    pytest.param(f"UPDATE {T} SET hash = prev_hash", id="update-all",
                 marks=pytest.mark.sidedoor(rule=RULE, path="command: psql as the app role: UPDATE every hash")),
    pytest.param(f"DELETE FROM {T} WHERE id = %(id)s", id="delete",
                 marks=pytest.mark.sidedoor(rule=RULE, path="command: psql as the app role: DELETE an audit row")),
    pytest.param(f"TRUNCATE {T}", id="truncate",
                 marks=pytest.mark.sidedoor(rule=RULE, path="command: psql as the app role: TRUNCATE the audit table")),
    pytest.param(f"ALTER TABLE {T} DISABLE TRIGGER auditentry_immutable", id="disable-trigger",
                 marks=pytest.mark.sidedoor(rule=RULE, path="command: psql as the app role: DISABLE TRIGGER")),
    pytest.param(f"ALTER TABLE {T} DISABLE TRIGGER ALL", id="disable-all-triggers"),
    pytest.param(f"DROP TRIGGER auditentry_immutable ON {T}", id="drop-trigger"),
    pytest.param(f"DROP TABLE {T}", id="drop-table"),
    pytest.param(f"ALTER TABLE {T} RENAME TO old_audit", id="rename-table"),
    pytest.param(f"DELETE FROM {audit_chain.HEAD_TABLE}", id="delete-head",
                 marks=pytest.mark.sidedoor(rule=RULE, path="command: psql as the app role: DELETE the chain's head")),
    pytest.param(f"TRUNCATE {audit_chain.HEAD_TABLE}", id="truncate-head"),
    pytest.param("SET session_replication_role = replica", id="replica-mode"),  # would skip every trigger
]


@pytest.mark.parametrize("statement", REFUSED)
def test_the_app_role_cannot_rewrite_or_remove_audit_rows(history, as_app, statement):
    # The rows are the test's (not committed): PostgreSQL checks privileges and ownership before it touches or
    # locks a row, so the refusal is the same as on committed rows.
    target = history[len(history) // 2][0]
    with as_app.cursor() as cursor, pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cursor.execute(statement, {"id": target})

    assert list(AuditEntry.objects.order_by("id").values_list("id", "hash", "reason", "payload")) == history
    assert verify().startswith(f"audit chain intact: {len(history)} rows")


@pytest.mark.django_db(transaction=True)
def test_the_app_role_reads_and_appends_through_the_application(history, granted, staff):
    """The grants are enough for the application: a transition as the app role, then verify_audit as it."""
    loan = Loan.objects.get()
    contract = f"HT{loan.pk:08d}"
    result = run_as(granted, "shell", code=(
        "from loancenter.transitions import perform; from loancenter.models import User; "
        f"perform('sign_contract', loan_id={loan.pk}, actor=User.objects.get(username='mkt'), "
        f"data={{'contract_no': '{contract}', 'signed_on': '{today().isoformat()}'}}); "
        "from django.db import connection; print(connection.settings_dict['USER'])"
    ))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == granted.name
    loan.refresh_from_db()
    assert loan.status == Status.CONTRACT_SIGNED
    assert AuditEntry.objects.count() > len(history)

    checked = run_as(granted, "verify_audit")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"audit chain intact: {AuditEntry.objects.count()} rows")


# --- (b) rows the app role inserts without the key --------------------------------------------------------------

def _forge(cursor, reason: str, hasher) -> int:
    cursor.execute(f"SELECT hash FROM {T} ORDER BY id DESC LIMIT 1")
    prev = cursor.fetchone()[0]
    cursor.execute("SELECT now()")
    at = cursor.fetchone()[0]
    row = {"at": at, "actor_id": None, "action": "approve", "loan_id": None, "object_type": "", "object_id": "",
           "from_status": "pending_approval", "to_status": "approved", "payload": {}, "reason": reason}
    cursor.execute(
        f"INSERT INTO {T} (at, actor_id, action, loan_id, object_type, object_id, from_status, to_status, payload, "
        "reason, prev_hash, hash) VALUES (%(at)s, NULL, %(action)s, NULL, '', '', %(from_status)s, %(to_status)s, "
        "'{}', %(reason)s, %(prev)s, %(hash)s) RETURNING id",
        row | {"prev": prev, "hash": hasher(prev, row)},
    )
    return cursor.fetchone()[0]


@pytest.mark.sidedoor(rule=RULE, path="command: verify_audit after the app role inserted a row hashed with SHA-256")
@pytest.mark.django_db(transaction=True)
def test_a_row_the_app_role_inserts_with_a_plain_sha256_hash_is_found(history, as_app):
    with as_app.cursor() as cursor:
        forged = _forge(cursor, "forged by the app role", plain_sha256)

    message = broken()
    assert f"broken at row {forged} (content hash) after {len(history)} intact rows" in message


@pytest.mark.django_db(transaction=True)
def test_a_row_hashed_with_a_guessed_key_and_a_moved_head_is_found(history, as_app):
    """The app role may UPDATE the head (the application advances it); without the key its tag gives it away."""
    import hashlib
    import hmac
    import json

    def guessed(prev, row):
        document = {"prev": prev, "at": audit_chain.canonical_at(row["at"]), "actor": None, "action": row["action"],
                    "loan": None, "object_type": "", "object_id": "", "from_status": row["from_status"],
                    "to_status": row["to_status"], "payload": "{}", "reason": row["reason"]}
        blob = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        return hmac.new(b"dev-only-insecure-key", blob, hashlib.sha256).hexdigest()

    with as_app.cursor() as cursor:
        forged = _forge(cursor, "forged with a guess", guessed)
        cursor.execute(f"SELECT hash FROM {T} WHERE id = %s", [forged])
        cursor.execute(f"UPDATE {audit_chain.HEAD_TABLE} SET rows = rows + 1, last_id = %s, hash = %s",
                       [forged, cursor.fetchone()[0]])

    message = broken()
    assert "(head)" in message and "does not verify with AUDIT_HMAC_KEY" in message


@pytest.mark.django_db(transaction=True)
def test_after_a_forged_row_the_application_stops_appending(history, as_app, staff):
    """A forged row is not sealed into the chain by the next honest append: the app refuses and says why."""
    with as_app.cursor() as cursor:
        forged = _forge(cursor, "forged by the app role", plain_sha256)

    with pytest.raises(audit_chain.ChainTampered, match=f"row {forged}"):
        AuditEntry.objects.create(actor=staff.gen, action="after_the_forgery")
    assert not AuditEntry.objects.filter(action="after_the_forgery").exists()
    assert f"broken at row {forged} (content hash)" in broken()


# --- (c) the owner role rewrites history ------------------------------------------------------------------------

@pytest.mark.sidedoor(rule=RULE, path="command: verify_audit after the owner role rewrote the chain with SHA-256")
def test_an_owner_rewrite_with_recomputed_sha256_hashes_is_found(history):
    target = history[len(history) // 2][0]
    with triggers_off():
        rewrite_with_plain_sha256(edit_id=target, changes={"reason": "approved, nothing unusual"})

    assert AuditEntry.objects.get(pk=target).reason == "approved, nothing unusual"
    assert f"broken at row {target} (content hash)" in broken()


def test_an_owner_truncate_is_found(history):
    truncate_audit_table()

    message = broken()
    assert f"the head records {len(history)} rows ending at row {history[-1][0]}" in message


# --- the grants --------------------------------------------------------------------------------------------------

def _privileges(role: str) -> dict[str, set[str]]:
    kinds = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, k FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, unnest(%s) k "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND has_table_privilege(%s, c.oid, k)",
            [list(kinds), role],
        )
        granted: dict[str, set[str]] = {}
        for table, kind in cursor.fetchall():
            granted.setdefault(table, set()).add(kind)
    return granted


def test_the_grants_are_exactly_what_the_application_needs(db, granted):
    privileges = _privileges(granted.name)
    dml = {"SELECT", "INSERT", "UPDATE", "DELETE"}

    assert privileges.pop(audit_chain.TABLE) == {"SELECT", "INSERT"}
    assert privileges.pop(audit_chain.HEAD_TABLE) == {"SELECT", "UPDATE"}
    assert privileges.pop("django_migrations") == {"SELECT"}
    assert {table: kinds for table, kinds in privileges.items() if kinds != dml} == {}
    assert {"loancenter_user", "applications_loan", "django_session"} <= set(privileges)


def test_granting_twice_changes_nothing_and_undoes_a_stray_grant(db, granted):
    before = _privileges(granted.name)
    with connection.cursor() as cursor:
        cursor.execute(f'GRANT ALL ON {T} TO "{granted.name}"')
    assert "TRUNCATE" in _privileges(granted.name)[T]

    call_command("grant_app_role", granted.name, stdout=StringIO())

    assert _privileges(granted.name) == before


@pytest.mark.django_db(transaction=True)
def test_tables_created_by_later_migrations_are_granted_by_default(granted):
    table = f"lc_later_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {table} (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, note text)")
    try:
        conn = granted.connect()
        with conn.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} (note) VALUES ('a') RETURNING id")
            row = cursor.fetchone()[0]
            cursor.execute(f"UPDATE {table} SET note = 'b' WHERE id = %s", [row])
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [row])
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute(f"TRUNCATE {table}")
        conn.close()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {table}")


@pytest.mark.parametrize("bad", ["no_such_role_here", "bad name; DROP TABLE x"])
def test_granting_an_unknown_or_malformed_role_is_refused(db, bad):
    with pytest.raises(CommandError):
        call_command("grant_app_role", bad, stdout=StringIO())


def test_granting_to_the_owner_or_a_superuser_is_refused(db):
    owner = connection.settings_dict["USER"]
    with pytest.raises(CommandError, match="superuser|owns"):
        call_command("grant_app_role", owner, stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_the_command_must_run_as_the_owner(granted):
    """Run with the app role's own credentials, the command refuses instead of half-granting."""
    result = run_as(granted, "grant_app_role", granted.name)
    assert result.returncode != 0
    assert "owner" in result.stderr


# --- the deploy check --------------------------------------------------------------------------------------------

def _deploy_warnings() -> list[str]:
    return [message.id for message in checks.run_checks(include_deployment_checks=True, tags=["database_role"])]


def test_deploy_check_warns_when_the_app_connects_as_a_superuser(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone()[0]  # CI connects as postgres

    assert "loancenter.W001" in _deploy_warnings()


def test_deploy_check_warns_when_the_app_connects_as_the_audit_tables_owner(db):
    with transaction.atomic(), connection.cursor() as cursor:
        owner = f"lc_check_owner_{secrets.token_hex(4)}"
        cursor.execute(f"CREATE ROLE {owner} NOLOGIN")  # undone with the test's transaction
        cursor.execute(f"ALTER TABLE {T} OWNER TO {owner}")
        cursor.execute(f"SET LOCAL ROLE {owner}")
        warnings = _deploy_warnings()
        cursor.execute("RESET ROLE")
        transaction.set_rollback(True)

    assert "loancenter.W002" in warnings
    assert "loancenter.W001" not in warnings


def test_deploy_check_warns_when_the_app_may_delete_audit_rows(db):
    with transaction.atomic(), connection.cursor() as cursor:
        app = f"lc_check_app_{secrets.token_hex(4)}"
        cursor.execute(f"CREATE ROLE {app} NOLOGIN")
        cursor.execute(f"GRANT SELECT, INSERT, DELETE ON {T} TO {app}")
        cursor.execute(f"SET LOCAL ROLE {app}")
        warnings = _deploy_warnings()
        cursor.execute("RESET ROLE")
        transaction.set_rollback(True)

    assert warnings == ["loancenter.W003"]


@pytest.mark.django_db(transaction=True)
def test_check_deploy_as_the_granted_app_role_reports_nothing(granted):
    """Production settings, PostgreSQL, the app role: nothing to say. The same as the superuser: W001."""
    production = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "loans.example.bank",
                  "AUDIT_HMAC_KEY": secrets.token_urlsafe(48)}

    def check_deploy(url: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                              cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=180,
                              env=_env_for(url) | production)

    as_app = check_deploy(granted.url)
    assert as_app.returncode == 0, as_app.stdout + as_app.stderr
    assert "System check identified no issues (0 silenced)." in as_app.stdout

    as_superuser = check_deploy(_superuser_url())
    assert as_superuser.returncode == 1
    assert "loancenter.W001" in as_superuser.stderr


def _env_for(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "PYTEST_", "DEBUG", "SECURE_", "SESSION_", "CSRF_"))}
    env.pop("REDIS_URL", None)
    return env | {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "loancenter.settings"}


def _superuser_url() -> str:
    p = _params()
    password = f":{p['password']}" if p["password"] else ""
    return f"postgres://{p['user']}{password}@{p['host']}:{p['port']}/{p['dbname']}"
