"""Helpers that edit the audit table behind the application's back, as an intruder with SQL access would."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connection

from loancenter import audit as audit_chain


@contextmanager
def triggers_off():
    """Switch the immutability triggers off for the block (PostgreSQL: DISABLE TRIGGER; SQLite: drop, re-create)."""
    if connection.vendor == "postgresql":
        # ALTER TABLE refuses while the test's transaction has deferred foreign-key checks pending.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {audit_chain.TABLE} DISABLE TRIGGER auditentry_immutable")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"ALTER TABLE {audit_chain.TABLE} ENABLE TRIGGER auditentry_immutable")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    else:
        audit_chain.set_triggers("default", enabled=False)
        try:
            yield
        finally:
            audit_chain.set_triggers("default", enabled=True)


def raw(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
