"""The audit chain: how an audit row is hashed, how the chain is serialised, how it is verified.

Every ``AuditEntry`` stores ``hash = sha256(canonical content + previous row's hash)`` and the previous
row's hash in ``prev_hash``; the database refuses UPDATE and DELETE on the table (triggers created in
``loancenter/migrations/0004_auditentry_immutable``). See docs/decisions.md, "Audit chain".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connections

GENESIS = "0" * 64
TABLE = "loancenter_auditentry"
# pg_advisory_xact_lock key serialising appends to the chain ("LCAUDIT" in ASCII).
CHAIN_LOCK_KEY = 0x4C43415544495400

# The fields a row's hash covers, in the order verify_audit reads them.
CONTENT_FIELDS = (
    "at", "actor_id", "action", "loan_id", "object_type", "object_id", "from_status", "to_status", "payload", "reason",
)


def canonical_at(at: datetime) -> str:
    """ISO 8601 in UTC with microseconds: what both databases store and give back."""
    if at.tzinfo is None:  # a naive datetime from the database is UTC (USE_TZ)
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_payload(payload) -> str:
    """The payload as canonical JSON (sorted keys, no spaces, unescaped Unicode)."""
    if isinstance(payload, str):  # a JSON column read raw
        payload = json.loads(payload)
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(*, prev_hash: str, at, actor_id, action, loan_id, object_type, object_id, from_status, to_status,
               payload, reason) -> str:
    document = {
        "prev": prev_hash,
        "at": canonical_at(at),
        "actor": actor_id,
        "action": action,
        "loan": loan_id,
        "object_type": object_type,
        "object_id": object_id,
        "from_status": from_status,
        "to_status": to_status,
        "payload": canonical_payload(payload),
        "reason": reason,
    }
    blob = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def lock_chain(using: str) -> None:
    """Serialise appends until the current transaction ends.

    PostgreSQL: a transaction-scoped advisory lock, taken before the previous hash is read, so two
    transactions cannot both link to the same row (``prev_hash`` is also unique, as a last guard).
    SQLite: writers are already serialised by the database lock (BEGIN IMMEDIATE).
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])


# --- database triggers --------------------------------------------------------------------------

IMMUTABLE_MESSAGE = "audit entries are immutable"

POSTGRES_CREATE = [
    f"""
    CREATE OR REPLACE FUNCTION loancenter_auditentry_immutable() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '{IMMUTABLE_MESSAGE} (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
    END;
    $$ LANGUAGE plpgsql;
    """,
    f"DROP TRIGGER IF EXISTS auditentry_immutable ON {TABLE};",
    f"""
    CREATE TRIGGER auditentry_immutable BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION loancenter_auditentry_immutable();
    """,
]
POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS auditentry_immutable ON {TABLE};",
    "DROP FUNCTION IF EXISTS loancenter_auditentry_immutable();",
]

SQLITE_TRIGGERS = ("auditentry_no_update", "auditentry_no_delete")
SQLITE_CREATE = [
    f"""
    CREATE TRIGGER IF NOT EXISTS auditentry_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{IMMUTABLE_MESSAGE} (UPDATE refused)'); END;
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS auditentry_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{IMMUTABLE_MESSAGE} (DELETE refused)'); END;
    """,
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {name};" for name in SQLITE_TRIGGERS]


def trigger_sql(vendor: str, *, create: bool) -> list[str]:
    if vendor == "postgresql":
        return POSTGRES_CREATE if create else POSTGRES_DROP
    if vendor == "sqlite":
        return SQLITE_CREATE if create else SQLITE_DROP
    raise NotImplementedError(f"no audit triggers for {vendor}")


def set_triggers(using: str, *, enabled: bool) -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        for statement in trigger_sql(connection.vendor, create=enabled):
            cursor.execute(statement)


# --- verification ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    rows: int
    broken_id: int | None = None
    problem: str = ""  # "content hash" or "previous link"
    detail: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_id is None


def verify_rows(rows: Iterable[tuple]) -> ChainReport:
    """Walk rows ``(id, hash, prev_hash, *CONTENT_FIELDS)`` in id order; stop at the first broken link."""
    previous = GENESIS
    count = 0
    for row in rows:
        pk, stored_hash, prev_hash, *content = row
        if prev_hash != previous:
            return ChainReport(count, pk, "previous link",
                               f"prev_hash {prev_hash} but the preceding row's hash is {previous}")
        recomputed = entry_hash(prev_hash=prev_hash, **dict(zip(CONTENT_FIELDS, content, strict=True)))
        if recomputed != stored_hash:
            return ChainReport(count, pk, "content hash",
                               f"stored {stored_hash} but the row's content hashes to {recomputed}")
        previous = stored_hash
        count += 1
    return ChainReport(count)


def verify_chain(*, using: str = "default", chunk_size: int = 2000) -> ChainReport:
    from loancenter.models import AuditEntry

    rows = (
        AuditEntry.objects.using(using)
        .order_by("id")
        .values_list("id", "hash", "prev_hash", *CONTENT_FIELDS)
        .iterator(chunk_size=chunk_size)
    )
    return verify_rows(rows)
