"""The audit chain: how an audit row is hashed, how the chain is serialised, how it is verified.

Every ``AuditEntry`` stores ``hash = HMAC-SHA256(AUDIT_HMAC_KEY, canonical content + previous row's hash)`` and
the previous row's hash in ``prev_hash``; ``AuditHead`` (one row) records how many rows the chain has, its last
row and hash, and where the rows chained before the key end, under a tag keyed the same way. The database refuses
UPDATE and DELETE on the table (triggers of ``loancenter/migrations/0004_auditentry_immutable``) and the
application's role may only INSERT and SELECT it (``manage.py grant_app_role``). The key is never stored in the
database: someone with database credentials alone can neither forge a row nor shorten the chain unnoticed.
See docs/decisions.md, "Audit chain" and "The keyed audit chain".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
TABLE = "loancenter_auditentry"
HEAD_TABLE = "loancenter_audithead"
HEAD_ID = 1
# pg_advisory_xact_lock key serialising appends to the chain ("LCAUDIT" in ASCII).
CHAIN_LOCK_KEY = 0x4C43415544495400

# The fields a row's hash covers, in the order verify_audit reads them.
CONTENT_FIELDS = (
    "at", "actor_id", "action", "loan_id", "object_type", "object_id", "from_status", "to_status", "payload", "reason",
)


class ChainTampered(RuntimeError):
    """The chain's head does not match the table or does not verify: appending would hide what was done."""


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


def _canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _row_document(*, prev_hash: str, at, actor_id, action, loan_id, object_type, object_id, from_status, to_status,
                  payload, reason) -> bytes:
    return _canonical({
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
    })


def key() -> bytes:
    """AUDIT_HMAC_KEY (settings: required when DEBUG is off), read at each use."""
    return settings.AUDIT_HMAC_KEY.encode("utf-8")


def entry_hash(*, prev_hash: str, **content) -> str:
    """A row's hash: HMAC-SHA256 with AUDIT_HMAC_KEY over its canonical content and the previous row's hash."""
    return hmac.new(key(), _row_document(prev_hash=prev_hash, **content), hashlib.sha256).hexdigest()


def legacy_entry_hash(*, prev_hash: str, **content) -> str:
    """The unkeyed hash of rows written before the key (plain SHA-256 of the same document); verification only."""
    return hashlib.sha256(_row_document(prev_hash=prev_hash, **content)).hexdigest()


def head_tag(*, rows: int, last_id: int, hash: str, legacy_last_id: int) -> str:
    """The head's tag: HMAC over what it records, so nobody without the key can move it."""
    document = _canonical({"head": "loancenter.audit", "rows": rows, "last_id": last_id, "hash": hash,
                           "legacy_last_id": legacy_last_id})
    return hmac.new(key(), document, hashlib.sha256).hexdigest()


def tag_valid(head) -> bool:
    expected = head_tag(rows=head.rows, last_id=head.last_id, hash=head.hash, legacy_last_id=head.legacy_last_id)
    return hmac.compare_digest(expected, head.tag)


def lock_chain(using: str) -> None:
    """Serialise appends until the current transaction ends.

    PostgreSQL: a transaction-scoped advisory lock, taken before the head is read, so two transactions
    cannot both link to the same row (``prev_hash`` is also unique, as a last guard).
    SQLite: writers are already serialised by the database lock (BEGIN IMMEDIATE).
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])


# --- the head -------------------------------------------------------------------------------------------------


def head_values(*, rows: int, last_id: int, hash: str, legacy_last_id: int) -> dict:
    return {"rows": rows, "last_id": last_id, "hash": hash, "legacy_last_id": legacy_last_id,
            "tag": head_tag(rows=rows, last_id=last_id, hash=hash, legacy_last_id=legacy_last_id)}


def start_head(head_model, entry_model, using: str) -> None:
    """Create the head for the table as it is: called by the migration that adds it and after ``flush``.

    Rows already in the table were chained without a key (before AUDIT_HMAC_KEY): the head records the last of
    them as ``legacy_last_id``, and verify_audit checks rows up to it with plain SHA-256. The head's tag and the
    first keyed row (whose HMAC covers the last unkeyed hash) seal them as they were at this moment.
    """
    last = entry_model.objects.using(using).order_by("-id").values_list("id", "hash").first()
    last_id, last_hash = last if last else (0, GENESIS)
    rows = entry_model.objects.using(using).count()
    head_model.objects.using(using).update_or_create(
        pk=HEAD_ID, defaults=head_values(rows=rows, last_id=last_id, hash=last_hash, legacy_last_id=last_id),
    )


def read_head_for_append(head_model, entry_model, using: str):
    """The head, checked before the next row links to it (call with the chain locked).

    The models are passed in (as to :func:`start_head`): this module is the chain's arithmetic, below the models.

    Refuses when the head is missing, its tag does not verify, or the table's last row is not the head's: linking
    to it and writing a new valid tag would seal whatever was done (rows removed from the end, a forged row).
    """
    from django.db.models import Subquery

    last = entry_model.objects.using(using).order_by("-id").values("id")[:1]
    head = head_model.objects.using(using).annotate(table_last_id=Subquery(last)).filter(pk=HEAD_ID).first()
    problem = ""
    if head is None:
        problem = "the audit head is missing"
    elif not tag_valid(head):
        problem = "the audit head does not verify with AUDIT_HMAC_KEY"
    elif (head.table_last_id or 0) != head.last_id:
        problem = f"the audit table ends at row {head.table_last_id or 0} but the head is row {head.last_id}"
    if problem:
        logger.critical("audit chain: %s; no audit row can be appended until it is resolved (verify_audit)", problem)
        raise ChainTampered(f"{problem}: no audit row can be appended; run `manage.py verify_audit`")
    return head


def advance_head(head_model, using: str, head, entry) -> None:
    head_model.objects.using(using).filter(pk=HEAD_ID).update(
        **head_values(rows=head.rows + 1, last_id=entry.pk, hash=entry.hash, legacy_last_id=head.legacy_last_id)
    )


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
    problem: str = ""  # "content hash", "previous link", "head" or "checkpoint"
    detail: str = ""
    legacy_rows: int = 0
    last_id: int = 0
    last_hash: str = GENESIS

    @property
    def intact(self) -> bool:
        return not self.problem

    @property
    def checkpoint(self) -> str:
        """``ID:HASH`` of the last row: kept outside the database, it shows a later rollback (``--since``)."""
        return f"{self.last_id}:{self.last_hash}"


def parse_checkpoint(text: str) -> tuple[int, str]:
    pk, _, digest = text.partition(":")
    if not pk.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"a checkpoint is ID:HASH as verify_audit printed it, not {text!r}")
    return int(pk), digest


def verify_rows(rows: Iterable[tuple], *, head=None, since: tuple[int, str] | None = None) -> ChainReport:
    """Walk rows ``(id, hash, prev_hash, *CONTENT_FIELDS)`` in id order; stop at the first broken link.

    ``head``: the ``AuditHead`` (None: missing). Rows up to its ``legacy_last_id`` are checked with plain SHA-256,
    later ones with the key; the walk must end exactly where the head says. ``since``: a checkpoint ``(id, hash)``
    printed by an earlier run, which must still be in the chain.
    """
    if head is None:
        return ChainReport(0, None, "head", "the audit head is missing: the head row was deleted or the tables emptied")
    if not tag_valid(head):
        return ChainReport(0, head.last_id, "head",
                           "the audit head does not verify with AUDIT_HMAC_KEY: it was rewritten, or the key is not "
                           "the one the chain was written with")
    previous = GENESIS
    count = legacy = 0
    last_id = 0
    seen_since = since is None
    for row in rows:
        pk, stored_hash, prev_hash, *content = row
        if prev_hash != previous:
            return ChainReport(count, pk, "previous link",
                               f"prev_hash {prev_hash} but the preceding row's hash is {previous}", legacy, last_id,
                               previous)
        recomputed = _hash_for(pk, head, prev_hash, content)
        if not hmac.compare_digest(recomputed, stored_hash):
            return ChainReport(count, pk, "content hash",
                               f"stored {stored_hash} but the row's content hashes to {recomputed}", legacy, last_id,
                               previous)
        if pk > head.last_id:  # a well-formed row the head does not cover: the head was put back
            return ChainReport(count, pk, "head", f"row {pk} is after the head (row {head.last_id}): the head was "
                               "rolled back", legacy, last_id, previous)
        if since is not None and pk == since[0]:
            if stored_hash != since[1]:
                return ChainReport(count, pk, "checkpoint",
                                   f"the checkpoint says row {pk} hashed {since[1]}, the chain has {stored_hash}",
                                   legacy, last_id, previous)
            seen_since = True
        previous = stored_hash
        last_id = pk
        count += 1
        legacy += pk <= head.legacy_last_id
    if (count, last_id, previous) != (head.rows, head.last_id, head.hash):
        return ChainReport(count, head.last_id, "head",
                           f"the head records {head.rows} rows ending at row {head.last_id} ({head.hash}); "
                           f"the table has {count} rows ending at row {last_id}: rows were removed from the end",
                           legacy, last_id, previous)
    if not seen_since:
        return ChainReport(count, since[0], "checkpoint",
                           f"the checkpoint's row {since[0]} is not in the chain, which ends at row {last_id}: the "
                           "table and its head were put back to an earlier state", legacy, last_id, previous)
    return ChainReport(count, legacy_rows=legacy, last_id=last_id, last_hash=previous)


def _hash_for(pk: int, head, prev_hash: str, content: list) -> str:
    fields = dict(zip(CONTENT_FIELDS, content, strict=True))
    if pk <= head.legacy_last_id:
        return legacy_entry_hash(prev_hash=prev_hash, **fields)
    return entry_hash(prev_hash=prev_hash, **fields)


def verify_chain(head_model, entry_model, *, using: str = "default", chunk_size: int = 2000,
                 since: tuple[int, str] | None = None) -> ChainReport:
    head = head_model.objects.using(using).filter(pk=HEAD_ID).first()
    rows = (
        entry_model.objects.using(using)
        .order_by("id")
        .values_list("id", "hash", "prev_hash", *CONTENT_FIELDS)
        .iterator(chunk_size=chunk_size)
    )
    return verify_rows(rows, head=head, since=since)
