"""Writing the audit trail: one row per operation that is not a state change (creation, edits, notifications),
and the JSON form of a payload. State changes write theirs in ``applications.workflow.run_transition``.

In the kernel, so that loancenter's own services (staff, posts) write through the same helper as every app.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from loancenter.models import AuditEntry


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "username"):
        return value.username
    if hasattr(value, "pk"):
        return value.pk
    return value


def audit(*, actor, action: str, loan=None, obj=None, payload: dict | None = None, reason: str = "") -> AuditEntry:
    """An audit row for an operation that is not a state change (creation, edits, notifications)."""
    return AuditEntry.objects.create(
        actor=actor, action=action, loan=loan,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        from_status=loan.status if loan else "", to_status=loan.status if loan else "",
        payload=jsonable(payload or {}), reason=reason,
    )
