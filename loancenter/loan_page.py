"""The loan page: everything about one loan, from the application to the archive (SPEC §3).

Wiring: it shows every stage's part (the disbursement's contracts and receipt, the schedule and repayments), so it
sits above the apps, beside the registry whose transitions its buttons offer.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.shortcuts import render
from django.utils import timezone

from applications.catalog import DOCUMENTS, PURPOSES, RELATIONSHIPS, REPAYMENT_METHOD_LABELS
from applications.files.selectors import gallery
from applications.lifecycle import lifecycle
from applications.models import Status
from applications.selectors import access_loan, waiting_states
from applications.workflow import STEPS, available_transitions
from disbursement.selectors import after_approval
from loancenter import posts as P
from loancenter.lib.dates import format_duration, today
from loancenter.models import User


def _row_label(row) -> str:
    if isinstance(row, dict):
        return str(row.get("name") or row.get("description") or row.get("id", ""))
    return str(row)


def _edit_summary(payload: dict) -> list[str]:
    """An edit's audit row (rule 22): ``field: old → new`` and the rows added (+), removed (−) or changed (~)."""
    parts = [f"{key}: {payload['old'].get(key)} → {value}" for key, value in payload["new"].items()]
    for kind in ("guarantors", "collaterals", "documents"):
        rows = payload.get(kind) or {}
        for sign, key in (("+", "added"), ("−", "removed")):
            parts += [f"{kind} {sign}{_row_label(row)}" for row in rows.get(key, [])]
        for row in rows.get("changed", []):
            parts += [f"{kind} #{row['id']} {k}: {row['old'].get(k)} → {v}" for k, v in row["new"].items()]
    return parts


def _payload_summary(payload) -> str:
    """``key=value; …`` for the audit timeline (the reason is shown on its own line)."""
    if not isinstance(payload, dict):
        return str(payload)
    if isinstance(payload.get("old"), dict) and isinstance(payload.get("new"), dict):
        return "; ".join(_edit_summary(payload))
    parts = []
    for key, value in payload.items():
        if key == "reason" or value in ("", None, [], {}):
            continue
        if isinstance(value, list):
            value = ", ".join(map(str, value))
        text = str(value)
        parts.append(f"{key}={text[:80] + '…' if len(text) > 80 else text}")
    return "; ".join(parts)


def loan_detail(request, pk: int):
    loan = access_loan(request.user, pk)
    received = {d.code: d for d in loan.documents.all()}
    required = list(loan.product.required_documents)
    documents = [
        {"code": code, "label": DOCUMENTS.get(code, code), "required": code in required, "received": received.get(code)}
        for code in dict.fromkeys([*required, *received])
    ]
    investigations = list(loan.investigations.select_related("assignee", "cosigner").prefetch_related(
        Prefetch("investigators", queryset=User.objects.order_by("username"))))
    actions = [STEPS[name] for name in available_transitions(loan, request.user)]
    status_labels = dict(Status.choices)
    audit_entries = list(loan.audit_entries.select_related("actor"))
    for entry in audit_entries:
        entry.label = STEPS[entry.action].label if entry.action in STEPS else entry.action
        entry.from_label = status_labels.get(entry.from_status, entry.from_status)
        entry.to_label = status_labels.get(entry.to_status, entry.to_status)
        entry.summary = _payload_summary(entry.payload)
    can_notify = (
        loan.decided_at is not None and loan.customer_notified_on is None
        and (loan.marketing_officer_id == request.user.pk or request.user.has_post(P.MANAGER))
    )
    return render(request, "applications/loan_detail.html", {
        "loan": loan, "documents": documents, "gallery": gallery(loan),  # the files by code (SPEC §11)
        "missing": [d for d in documents if d["required"] and not d["received"]],
        "guarantors": loan.guarantors.select_related("customer"), "collaterals": loan.collaterals.all(),
        "investigations": investigations, "actions": actions, "audit_entries": audit_entries,
        "can_notify": can_notify, "today": today(), "purpose_label": PURPOSES.get(loan.purpose, loan.purpose),
        "method_labels": REPAYMENT_METHOD_LABELS, "relationships": RELATIONSHIPS,
        "can_edit": loan.status == Status.DRAFT and loan.marketing_officer_id == request.user.pk,
        # Where the loan stands, who acts next, by when (issue 15 part 10); no waiting time where nobody has to act.
        "lifecycle": lifecycle(loan, today=today()), "waiting": loan.status in waiting_states(),
        "waited": format_duration(timezone.now() - loan.status_changed_at),
        **after_approval(loan, request.user),  # contracts, receipt, disbursement, schedule, repayments
    })
