"""Two database roles on PostgreSQL: the owner migrates and owns the tables; the application connects as the app role.

The app role may read and write every table as the application needs (SELECT, INSERT, UPDATE, DELETE), except:
the audit table, which it may only INSERT and SELECT; the audit chain's head, which it may SELECT and UPDATE (every
append advances it); ``django_migrations``, which it may only read. It owns nothing, so it cannot ALTER a table,
disable a trigger or TRUNCATE. Tables the owner creates later (new migrations) get the same DML by default.
Grants are made by ``manage.py grant_app_role`` run with the owner's credentials (not by a migration: a migration
would need to know the app role's name and would run again on every fresh test database).
See README ("Two database roles") and docs/decisions.md ("The keyed audit chain").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connections, transaction

from loancenter import audit as audit_chain

ROLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
# What the app role must never hold on the audit table.
AUDIT_FORBIDDEN = ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES")


class RoleError(Exception):
    """The grant cannot be made as asked; nothing was changed."""


@dataclass(frozen=True)
class RoleFacts:
    """What the connected role may do to the audit table (for the deploy check)."""

    user: str
    superuser: bool
    owns_audit: bool  # the audit table's owner, or a member of it (may ALTER it, disable its trigger)
    audit_owner: str
    audit_privileges: frozenset[str]  # of AUDIT_FORBIDDEN


@dataclass(frozen=True)
class Grant:
    role: str
    database: str
    schema: str
    owner: str
    tables: int

    def summary(self) -> str:
        return (
            f"granted {self.role} on {self.database} (schema {self.schema}, owner {self.owner}): SELECT, INSERT, "
            f"UPDATE, DELETE on {self.tables} tables, except {audit_chain.TABLE} (SELECT, INSERT), "
            f"{audit_chain.HEAD_TABLE} (SELECT, UPDATE) and django_migrations (SELECT); the same DML by default on "
            f"tables {self.owner} creates later"
        )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def role_facts(using: str = "default") -> RoleFacts | None:
    """The connected role against the audit table; None before the table exists (not migrated)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT current_user, r.rolsuper, pg_has_role(current_user, c.relowner, 'MEMBER'), "
            "pg_get_userbyid(c.relowner), "
            "array(SELECT k FROM unnest(%s::text[]) k WHERE has_table_privilege(c.oid, k)) "
            "FROM pg_roles r, pg_class c WHERE r.rolname = current_user AND c.oid = to_regclass(%s)",
            [list(AUDIT_FORBIDDEN), audit_chain.TABLE],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    user, superuser, owns, owner, privileges = row
    return RoleFacts(user, superuser, owns, owner, frozenset(privileges))


def grant_app_role(role: str, *, using: str = "default") -> Grant:
    """Grant ``role`` what the application needs and nothing more; idempotent (run again after each migrate)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        raise RoleError(f"database roles are a PostgreSQL matter; this database is {connection.vendor}")
    if not ROLE_NAME.match(role):
        raise RoleError(f"{role!r} is not a plain role name (letters, digits, _ and $, at most 63)")
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, current_database(), n.nspname, pg_get_userbyid(c.relowner), "
            "pg_has_role(current_user, c.relowner, 'MEMBER') "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
            [audit_chain.TABLE],
        )
        found = cursor.fetchone()
        if found is None:
            raise RoleError(f"{audit_chain.TABLE} does not exist here: run `manage.py migrate` first")
        me, database, schema, owner, i_own = found
        if not i_own:
            raise RoleError(
                f"run grant_app_role with the owner's credentials: {me} is not the owner of {audit_chain.TABLE} "
                f"({owner}) nor a superuser"
            )
        cursor.execute(
            "SELECT rolsuper, pg_has_role(rolname, %s, 'MEMBER') FROM pg_roles WHERE rolname = %s", [owner, role]
        )
        target = cursor.fetchone()
        if target is None:
            raise RoleError(
                f"role {role} does not exist: create it first (as a superuser or a role with CREATEROLE: "
                f"CREATE ROLE {role} LOGIN PASSWORD '…')"
            )
        if target[0]:
            raise RoleError(f"{role} is a superuser: it could do anything whatever is granted; use a plain role")
        if target[1]:
            raise RoleError(f"{role} owns the tables (it is {owner} or a member of it): use a role that owns nothing")

        r, s = _ident(role), _ident(schema)
        audit, head, migrations = (f"{s}.{_ident(t)}" for t in (audit_chain.TABLE, audit_chain.HEAD_TABLE,
                                                                "django_migrations"))
        for statement in (
            f"GRANT CONNECT ON DATABASE {_ident(database)} TO {r}",
            f"GRANT USAGE ON SCHEMA {s} TO {r}",
            # From a clean slate, so that a stray grant (GRANT ALL …) does not survive a second run.
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
            f"REVOKE UPDATE, DELETE ON {audit} FROM {r}",
            f"REVOKE INSERT, DELETE ON {head} FROM {r}",
            f"REVOKE INSERT, UPDATE, DELETE ON {migrations} FROM {r}",
            # Tables and sequences later migrations create (as the owner) get the ordinary DML.
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {_ident(owner)} IN SCHEMA {s} "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r}",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {_ident(owner)} IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {r}",
        ):
            cursor.execute(statement)
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p')", [schema]
        )
        tables = cursor.fetchone()[0]
    return Grant(role=role, database=database, schema=schema, owner=owner, tables=tables)
