"""Rows chained before AUDIT_HMAC_KEY (plain SHA-256) on an upgraded database (issue 13, finding 15).

The migration that adds the keyed head records where those rows end; verify_audit checks them as they were
written and every later row with the key. They are never rewritten. docs/decisions.md, "The keyed audit chain".
"""

from __future__ import annotations

import importlib
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

import loancenter.migrations
from loancenter import audit as audit_chain
from loancenter.models import AuditEntry
from loancenter.services import staff_create
from tests.audit.support import raw, rewrite_with_plain_sha256, triggers_off, truncate_audit_table
from tests.conftest import PASSWORD


def verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue().strip()


def _run_head_migration() -> None:
    """The RunPython of the migration that adds AuditHead, as ``migrate`` runs it on an existing database."""
    (path,) = Path(loancenter.migrations.__file__).parent.glob("*_audithead.py")
    module = importlib.import_module(f"loancenter.migrations.{path.stem}")
    module.start_head(apps, SimpleNamespace(connection=connection))


@pytest.fixture
def upgraded(db):
    """A database as the unkeyed chain left it (three rows, no head), then migrated."""
    truncate_audit_table()
    raw(f"DELETE FROM {audit_chain.HEAD_TABLE}")
    previous = audit_chain.GENESIS
    for n in range(3):
        row = {"at": AuditEntry._meta.get_field("at").default(), "actor_id": None,
               "action": f"before_the_key_{n}", "loan_id": None, "object_type": "", "object_id": "",
               "from_status": "", "to_status": "", "payload": {"n": n}, "reason": ""}
        digest = audit_chain.legacy_entry_hash(prev_hash=previous, **row)
        raw(f"INSERT INTO {audit_chain.TABLE} (at, action, object_type, object_id, from_status, to_status, payload, "
            "reason, prev_hash, hash) VALUES (%s, %s, '', '', '', '', %s, '', %s, %s)",
            [row["at"], row["action"], audit_chain.canonical_payload(row["payload"]), previous, digest])
        previous = digest
    _run_head_migration()
    return list(AuditEntry.objects.order_by("id"))


def test_rows_from_before_the_key_verify_as_they_were_written(upgraded):
    assert verify().splitlines()[0] == "audit chain intact: 3 rows (3 of them chained before AUDIT_HMAC_KEY, unkeyed)"


def keyed_rows() -> None:
    """Rows written after the migration, with the key: a person added by the operator."""
    staff_create(username="after_the_key", posts=["reviewer"], password=PASSWORD)


def test_new_rows_are_keyed_and_seal_the_older_ones(upgraded):
    keyed_rows()
    before = AuditEntry.objects.count()
    assert before > 3

    row = AuditEntry.objects.order_by("id")[3]
    assert row.prev_hash == upgraded[-1].hash
    content = {name: getattr(row, name) for name in audit_chain.CONTENT_FIELDS}
    assert row.hash == audit_chain.entry_hash(prev_hash=row.prev_hash, **content)
    assert row.hash != audit_chain.legacy_entry_hash(prev_hash=row.prev_hash, **content)
    assert verify().splitlines()[0] == f"audit chain intact: {before} rows (3 of them chained before AUDIT_HMAC_KEY, unkeyed)"


def test_an_older_row_rewritten_with_plain_sha256_is_found(upgraded):
    """The first keyed row's HMAC covers the last unkeyed hash: recomputing the unkeyed rows breaks that link."""
    keyed_rows()
    first_keyed = AuditEntry.objects.order_by("id")[3]
    with triggers_off():  # everything an owner without the key can recompute: the unkeyed rows
        rewrite_with_plain_sha256(edit_id=upgraded[1].pk, changes={"payload": {"n": 99}}, stop_id=first_keyed.pk)
    assert AuditEntry.objects.get(pk=upgraded[1].pk).payload == {"n": 99}
    with pytest.raises(CommandError) as excinfo:
        verify()

    assert f"broken at row {first_keyed.pk} (previous link) after 3 intact rows" in str(excinfo.value)


def test_the_unkeyed_rows_cannot_be_extended_by_moving_the_boundary(upgraded):
    """Where the unkeyed rows end is under the head's tag: an owner who moves it is found."""
    keyed_rows()
    raw(f"UPDATE {audit_chain.HEAD_TABLE} SET legacy_last_id = legacy_last_id + 100")

    with pytest.raises(CommandError, match=r"\(head\).*does not verify"):
        verify()
