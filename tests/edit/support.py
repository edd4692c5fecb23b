"""Snapshots of what an edit may change, to assert that posting a form back unchanged changed nothing."""

from __future__ import annotations

from django.forms.models import model_to_dict

from applications.models import Loan
from loancenter.models import AuditEntry, RefusedAttempt


def row_values(obj) -> dict:
    return {"id": obj.pk, **model_to_dict(obj), **({"version": obj.version} if hasattr(obj, "version") else {})}


def loan_snapshot(loan: Loan) -> dict:
    """The draft, each of its rows with its id, and the audit trail: everything the edit form touches."""
    loan = Loan.objects.get(pk=loan.pk)
    return {
        "loan": row_values(loan),
        "guarantors": [row_values(g) for g in loan.guarantors.order_by("pk")],
        "collaterals": [row_values(c) for c in loan.collaterals.order_by("pk")],
        "documents": [row_values(d) for d in loan.documents.order_by("pk")],
        "audit": list(AuditEntry.objects.order_by("pk").values_list("pk", "action")),
    }


def snapshot(obj) -> dict:
    obj = type(obj)._base_manager.get(pk=obj.pk)
    return {"row": row_values(obj), "audit": list(AuditEntry.objects.order_by("pk").values_list("pk", "action"))}


def refusals(code: str = "stale_edit") -> list[tuple]:
    return list(RefusedAttempt.objects.filter(code=code).values_list("action", "loan_id_ref"))
