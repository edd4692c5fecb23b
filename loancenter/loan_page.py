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
from applications.workflow import STEPS, available_transitions, held_back
from disbursement.selectors import after_approval
from loancenter import audit_text
from loancenter import posts as P
from loancenter.lib.dates import format_duration, today
from loancenter.models import User
from postloan.monitoring_models import CreditQuery
from review.selectors import flag_over_limit


def loan_detail(request, pk: int):
    loan = access_loan(request.user, pk)
    received = {d.code: d for d in loan.documents.all()}
    required = list(loan.product.required_documents)
    documents = [
        {"code": code, "label": DOCUMENTS.get(code, code), "required": code in required, "received": received.get(code)}
        for code in dict.fromkeys([*required, *received])
    ]
    investigations = list(loan.investigations.select_related("assignee", "cosigner").prefetch_related(
        Prefetch("investigators", queryset=User.objects.order_by("username")),
        Prefetch("credit_queries", queryset=CreditQuery.objects.select_related("customer"))))
    actions = [STEPS[name] for name in available_transitions(loan, request.user)]
    held = held_back(loan, request.user) if not actions else []
    if any(step.name == "escalate" for step in actions):  # rule 11: say so where the approver would decide
        flag_over_limit([loan], request.user)
    status_labels = dict(Status.choices)
    audit_entries = list(loan.audit_entries.select_related("actor"))
    for entry in audit_entries:  # in words: the event, and each field changed old → new (issue 15 part 4)
        event = audit_text.describe(entry)
        entry.label, entry.changes, entry.lines, entry.summary = event.label, event.changes, event.lines, event.summary
        entry.from_label = status_labels.get(entry.from_status, entry.from_status)
        entry.to_label = status_labels.get(entry.to_status, entry.to_status)
    can_notify = (
        loan.decided_at is not None and loan.customer_notified_on is None
        and (loan.marketing_officer_id == request.user.pk or request.user.has_post(P.MANAGER))
    )
    return render(request, "applications/loan_detail.html", {
        "loan": loan, "documents": documents, "gallery": gallery(loan),  # the files by code (SPEC §11)
        "missing": [d for d in documents if d["required"] and not d["received"]],
        "guarantors": loan.guarantors.select_related("customer"), "collaterals": loan.collaterals.all(),
        "investigations": investigations, "actions": actions, "held_back": held, "audit_entries": audit_entries,
        "can_notify": can_notify, "today": today(), "purpose_label": PURPOSES.get(loan.purpose, loan.purpose),
        "method_labels": REPAYMENT_METHOD_LABELS, "relationships": RELATIONSHIPS,
        "can_edit": loan.status == Status.DRAFT and loan.marketing_officer_id == request.user.pk,
        # Where the loan stands, who acts next, by when (issue 15 part 10); no waiting time where nobody has to act.
        "lifecycle": lifecycle(loan, today=today()), "waiting": loan.status in waiting_states(),
        "waited": format_duration(timezone.now() - loan.status_changed_at),
        **after_approval(loan, request.user),  # contracts, receipt, disbursement, schedule, repayments
    })
