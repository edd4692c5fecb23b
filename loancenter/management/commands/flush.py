"""Django's ``flush`` that empties the audit table on SQLite too.

On PostgreSQL ``flush`` runs TRUNCATE, which row triggers do not see, so emptying the whole database
(what transactional tests do after each test) still works although no audit row can be deleted.
SQLite has no TRUNCATE: its ``flush`` deletes row by row and the audit trigger would refuse it. This
command drops the SQLite audit triggers for the flush and re-creates them afterwards: the equivalent of
TRUNCATE on PostgreSQL, and nothing more.
"""

from __future__ import annotations

from django.core.management.commands.flush import Command as FlushCommand
from django.db import DEFAULT_DB_ALIAS, connections

from loancenter import audit as audit_chain


class Command(FlushCommand):
    def handle(self, **options):
        using = options.get("database") or DEFAULT_DB_ALIAS
        connection = connections[using]
        if connection.vendor != "sqlite" or not _has_sqlite_triggers(connection):
            return super().handle(**options)
        audit_chain.set_triggers(using, enabled=False)
        try:
            return super().handle(**options)
        finally:
            audit_chain.set_triggers(using, enabled=True)


def _has_sqlite_triggers(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (%s, %s)",
            list(audit_chain.SQLITE_TRIGGERS),
        )
        return cursor.fetchone()[0] > 0
