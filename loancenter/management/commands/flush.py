"""Django's ``flush``, which also empties the audit table on SQLite and starts the audit chain's head again.

On PostgreSQL ``flush`` runs TRUNCATE, which row triggers do not see, so emptying the whole database
(what transactional tests do after each test) still works although no audit row can be deleted.
SQLite has no TRUNCATE: its ``flush`` deletes row by row and the audit trigger would refuse it. This
command drops the SQLite audit triggers for the flush and re-creates them afterwards: the equivalent of
TRUNCATE on PostgreSQL, and nothing more.

Flushing also empties the chain's keyed head (``AuditHead``); without one no audit row can be appended and
verify_audit reports the head missing. Afterwards this command writes the head of an empty chain, with the
key: emptying the whole database is the operator's act (it needs the owner's credentials and the key), not
something the head should report as tampering.
"""

from __future__ import annotations

from django.core.management.commands.flush import Command as FlushCommand
from django.db import DEFAULT_DB_ALIAS, connections

from loancenter import audit as audit_chain


class Command(FlushCommand):
    def handle(self, **options):
        using = options.get("database") or DEFAULT_DB_ALIAS
        connection = connections[using]
        if connection.vendor == "sqlite" and _has_sqlite_triggers(connection):
            audit_chain.set_triggers(using, enabled=False)
            try:
                result = super().handle(**options)
            finally:
                audit_chain.set_triggers(using, enabled=True)
        else:
            result = super().handle(**options)
        _start_head(using)
        return result


def _has_sqlite_triggers(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (%s, %s)",
            list(audit_chain.SQLITE_TRIGGERS),
        )
        return cursor.fetchone()[0] > 0


def _start_head(using: str) -> None:
    from loancenter.models import AuditEntry, AuditHead

    if audit_chain.HEAD_TABLE in connections[using].introspection.table_names():  # migrated database
        audit_chain.start_head(AuditHead, AuditEntry, using)
