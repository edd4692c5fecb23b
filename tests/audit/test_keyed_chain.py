"""The audit chain is keyed (SPEC §10, §16.15; issue 13 finding 15).

Each row's hash is an HMAC with ``AUDIT_HMAC_KEY``, which the database does not hold, and a keyed head records
how long the chain is. Someone with only database credentials (here: the test's connection, which owns the table)
can switch the triggers off and rewrite, recompute or remove rows; ``verify_audit`` names what they did.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from applications.models import Status
from loancenter import audit as audit_chain
from loancenter.models import AuditEntry
from tests.audit.support import empty_trail, raw, rewrite_with_plain_sha256, triggers_off, truncate_audit_table

RULE = "audit"


def verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue().strip()


def broken(*args: str) -> str:
    with pytest.raises(CommandError) as excinfo:
        verify(*args)
    assert excinfo.value.returncode == 1
    return str(excinfo.value)


@pytest.fixture
def approved(flow, draft):
    return flow.advance(draft, Status.APPROVED)


@pytest.mark.sidedoor(rule=RULE, path="command: verify_audit after the owner rewrote rows with plain SHA-256")
def test_a_rewrite_that_recomputes_plain_sha256_hashes_is_found(approved):
    """Finding 15: triggers off, a row edited, every hash after it recomputed; the unkeyed chain looked intact."""
    target = approved.audit_entries.get(action="approve")
    with triggers_off():
        rewrite_with_plain_sha256(edit_id=target.pk, changes={"payload": {"amount": "9999999.00"}})

    assert AuditEntry.objects.get(pk=target.pk).payload == {"amount": "9999999.00"}  # the rewrite happened
    message = broken()
    assert f"broken at row {target.pk} (content hash)" in message
    assert f"after {AuditEntry.objects.filter(id__lt=target.pk).count()} intact rows" in message


@pytest.mark.sidedoor(rule=RULE, path="command: verify_audit after the owner recomputed the whole chain")
def test_a_whole_chain_recomputed_from_the_first_row_is_found(approved):
    first = AuditEntry.objects.order_by("id").first()
    with triggers_off():
        rewrite_with_plain_sha256(edit_id=first.pk, changes={"reason": "nothing to see"})

    assert f"broken at row {first.pk} (content hash) after 0 intact rows" in broken()


@pytest.mark.sidedoor(rule=RULE, path="command: verify_audit after the owner truncated the audit table")
def test_a_truncated_table_is_found(approved):
    rows = AuditEntry.objects.count()
    last = AuditEntry.objects.order_by("id").last()
    truncate_audit_table()
    assert not AuditEntry.objects.exists()

    message = broken()
    assert "(head)" in message
    assert f"the head records {rows} rows ending at row {last.pk}" in message
    assert "the table has 0 rows" in message


@pytest.mark.sidedoor(rule=RULE, path="command: verify_audit after the owner deleted the newest rows")
def test_rows_removed_from_the_end_are_found(approved):
    entries = list(AuditEntry.objects.order_by("id"))
    kept = entries[:-2]
    with triggers_off():
        raw(f"DELETE FROM {audit_chain.TABLE} WHERE id > %s", [kept[-1].pk])

    message = broken()
    assert f"broken at row {entries[-1].pk} (head) after {len(kept)} intact rows" in message
    assert f"the table has {len(kept)} rows ending at row {kept[-1].pk}" in message


def test_the_intact_chain_reports_its_checkpoint(approved):
    rows = AuditEntry.objects.count()
    last = AuditEntry.objects.order_by("id").last()

    assert verify().splitlines() == [f"audit chain intact: {rows} rows", f"checkpoint: {last.pk}:{last.hash}"]


def test_hashes_are_keyed_with_audit_hmac_key(approved, settings):
    """Nobody without the key can compute a row's hash: neither plain SHA-256 nor HMAC with another key matches."""
    entry = approved.audit_entries.get(action="approve")
    row = {name: getattr(entry, name) for name in audit_chain.CONTENT_FIELDS}
    from tests.audit.support import plain_sha256

    assert entry.hash != plain_sha256(entry.prev_hash, row)
    assert entry.hash == audit_chain.entry_hash(prev_hash=entry.prev_hash, **row)
    settings.AUDIT_HMAC_KEY = "another key, not the one the chain was written with"
    assert entry.hash != audit_chain.entry_hash(prev_hash=entry.prev_hash, **row)


def test_verifying_with_another_key_fails_at_the_head(approved, settings):
    settings.AUDIT_HMAC_KEY = "another key, not the one the chain was written with"

    message = broken()
    assert "(head)" in message
    assert "does not verify with AUDIT_HMAC_KEY" in message


@pytest.mark.sidedoor(rule=RULE, path="command: verify_audit after the owner forged the head for a shortened table")
def test_a_head_rewritten_for_a_shortened_table_is_found(approved):
    entries = list(AuditEntry.objects.order_by("id"))
    kept = entries[:-1]
    with triggers_off():
        raw(f"DELETE FROM {audit_chain.TABLE} WHERE id = %s", [entries[-1].pk])
    raw(f"UPDATE {audit_chain.HEAD_TABLE} SET rows = %s, last_id = %s, hash = %s",
        [len(kept), kept[-1].pk, kept[-1].hash])

    assert "(head)" in broken()
    assert "does not verify with AUDIT_HMAC_KEY" in broken()


def test_an_app_never_extends_a_forged_head(approved, staff):
    """The next append checks the head's tag first: it refuses rather than seal a shortened chain with a valid tag."""
    entries = list(AuditEntry.objects.order_by("id"))
    kept = entries[:-1]
    with triggers_off():
        raw(f"DELETE FROM {audit_chain.TABLE} WHERE id = %s", [entries[-1].pk])
    raw(f"UPDATE {audit_chain.HEAD_TABLE} SET rows = %s, last_id = %s, hash = %s",
        [len(kept), kept[-1].pk, kept[-1].hash])

    with pytest.raises(audit_chain.ChainTampered, match="verify_audit"):
        AuditEntry.objects.create(actor=staff.gen, action="after_the_forgery")

    assert AuditEntry.objects.count() == len(kept)
    assert "(head)" in broken()


def test_a_removed_head_is_found(approved):
    raw(f"DELETE FROM {audit_chain.HEAD_TABLE}")

    message = broken()
    assert "(head)" in message
    assert "the audit head is missing" in message


def test_a_truncated_table_and_head_are_found(approved):
    truncate_audit_table()
    raw(f"DELETE FROM {audit_chain.HEAD_TABLE}")

    assert "the audit head is missing" in broken()


def test_a_checkpoint_kept_outside_the_database_finds_a_rollback(approved, staff):
    """The head inside the database cannot tell a replayed old state; a checkpoint the operator kept can."""
    checkpoint = verify().splitlines()[1].removeprefix("checkpoint: ")
    assert verify("--since", checkpoint).startswith("audit chain intact")

    last = AuditEntry.objects.order_by("id").last()
    with triggers_off():
        raw(f"DELETE FROM {audit_chain.TABLE} WHERE id = %s", [last.pk])
    # A head saved before the checkpoint row existed, put back by someone who kept it.
    previous = AuditEntry.objects.order_by("id").last()
    rows = AuditEntry.objects.count()
    raw(f"UPDATE {audit_chain.HEAD_TABLE} SET rows = %s, last_id = %s, hash = %s, tag = %s",
        [rows, previous.pk, previous.hash,
         audit_chain.head_tag(rows=rows, last_id=previous.pk, hash=previous.hash, legacy_last_id=0)])
    assert verify().startswith("audit chain intact")  # consistent again, from inside the database

    message = broken("--since", checkpoint)
    assert f"broken at row {last.pk} (checkpoint)" in message


def test_a_malformed_checkpoint_is_a_usage_error(db):
    with pytest.raises(CommandError, match="ID:HASH"):
        verify("--since", "12")


def test_an_empty_trail_has_no_checkpoint(db):
    empty_trail()
    assert verify() == "audit chain intact: 0 rows"
    assert connection.vendor in ("sqlite", "postgresql")


def _settings_env(**values: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG", "AUDIT_", "SECRET_KEY"))}
    env.update(DJANGO_SETTINGS_MODULE="loancenter.settings", SECRET_KEY="s" * 60, **values)
    return env


@pytest.mark.parametrize(("debug", "key", "starts"), [("0", None, False), ("0", "", False), ("0", "k" * 40, True),
                                                      ("1", None, True)])
def test_the_key_is_required_when_debug_is_off(debug, key, starts):
    import subprocess
    import sys

    from django.conf import settings as django_settings

    values = {"DEBUG": debug} | ({"AUDIT_HMAC_KEY": key} if key is not None else {})
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=django_settings.BASE_DIR,
                            env=_settings_env(**values), capture_output=True, text=True, timeout=120)
    assert (result.returncode == 0) is starts, result.stderr
    if not starts:
        assert "ImproperlyConfigured: AUDIT_HMAC_KEY must be set when DEBUG is off" in result.stderr


@pytest.mark.parametrize("key", ["dev-only-audit-key-do-not-use-in-production", "short-key", "same-as-secret"])
def test_deploy_check_warns_of_a_weak_audit_key(settings, key):
    from loancenter.checks import check_audit_key

    settings.SECRET_KEY = "same-as-secret" if key == "same-as-secret" else "x" * 60
    settings.AUDIT_HMAC_KEY = key
    assert [warning.id for warning in check_audit_key()] == ["loancenter.W004"]

    settings.AUDIT_HMAC_KEY = "k" * 48
    assert check_audit_key() == []
