"""Helpers that edit the audit table behind the application's back, as an intruder with SQL access would."""

from __future__ import annotations

import hashlib
import json
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


def truncate_audit_table() -> None:
    """Empty the audit table as its owner could: TRUNCATE on PostgreSQL (no row trigger sees it), triggers off on SQLite."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {audit_chain.TABLE}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    else:
        with triggers_off():
            raw(f"DELETE FROM {audit_chain.TABLE}")


# --- an intruder who read the source but holds no key ---------------------------------------------------------

PLAIN_FIELDS = ("at", "actor_id", "action", "loan_id", "object_type", "object_id", "from_status", "to_status",
                "payload", "reason")


def plain_sha256(prev_hash: str, row: dict) -> str:
    """The chain's document hashed with plain SHA-256, as the unkeyed chain did (anyone can compute it)."""
    document = {
        "prev": prev_hash, "at": audit_chain.canonical_at(row["at"]), "actor": row["actor_id"],
        "action": row["action"], "loan": row["loan_id"], "object_type": row["object_type"],
        "object_id": row["object_id"], "from_status": row["from_status"], "to_status": row["to_status"],
        "payload": audit_chain.canonical_payload(row["payload"]), "reason": row["reason"],
    }
    blob = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def rewrite_with_plain_sha256(*, edit_id: int, changes: dict, stop_id: int | None = None, cursor=None) -> None:
    """Edit one row and recompute every hash from there to the end (or up to ``stop_id``, excluded) with plain
    SHA-256 (triggers must be off).

    ``cursor``: a DB-API cursor of another connection (the owner's); default: the test's connection.
    """
    own = cursor is None
    if own:
        cursor = connection.cursor()
    try:
        cursor.execute(f"SELECT id, hash, prev_hash, {', '.join(PLAIN_FIELDS)} FROM {audit_chain.TABLE} ORDER BY id")
        rows = [dict(zip(("id", "hash", "prev_hash", *PLAIN_FIELDS), values, strict=True)) for values in cursor.fetchall()]
        previous = None
        for row in rows:
            if row["id"] < edit_id:
                previous = row["hash"]
                continue
            if stop_id is not None and row["id"] >= stop_id:
                break
            if row["id"] == edit_id:
                row.update(changes)
            row["prev_hash"] = previous if previous is not None else row["prev_hash"]
            row["hash"] = plain_sha256(row["prev_hash"], row)
            cursor.execute(
                f"UPDATE {audit_chain.TABLE} SET reason = %s, payload = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [row["reason"], audit_chain.canonical_payload(row["payload"]), row["prev_hash"], row["hash"], row["id"]],
            )
            previous = row["hash"]
    finally:
        if own:
            cursor.close()


def empty_trail() -> None:
    """The trail as a new database has it: no row, the head at the start of the chain. The test database holds the
    personas' rows (tests/conftest.py, made once per worker); a test of the empty trail removes them as the owner
    could and starts the head again as ``migrate`` and ``flush`` do."""
    from loancenter.models import AuditEntry, AuditHead

    truncate_audit_table()
    raw(f"DELETE FROM {audit_chain.HEAD_TABLE}")
    audit_chain.start_head(AuditHead, AuditEntry, "default")
