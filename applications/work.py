"""The open work an officer holds in origination (loancenter.work, SPEC §13): their customers, the loans they are
marketing officer of, and their open investigation rounds. Registered by ``ApplicationsConfig.ready``."""

from __future__ import annotations

from django.db.models import F
from django.utils.translation import gettext as _

from applications import rules
from applications.models import Customer, Loan, LoanHandover, Status
from applications.services import _open_rounds, investigations_hand_over
from applications.workflow import audit
from loancenter import posts as P
from loancenter.work import WorkItem, WorkKind, register

# A loan is the officer's work until it is closed: settled, withdrawn, rejected or written off (recovery after a
# write-off is the general post's).
CLOSED = (Status.SETTLED, Status.WITHDRAWN, Status.REJECTED, Status.WRITTEN_OFF)


def _customers(user) -> list[WorkItem]:
    rows = Customer.objects.filter(officer=user).order_by("pk").values_list("pk", "name")
    return [WorkItem("customers", pk, name) for pk, name in rows]


def _move_customers(*, from_user, to_user, actor, ids, reason, handover) -> None:
    customers = list(Customer.objects.select_for_update().filter(pk__in=ids, officer=from_user).order_by("pk"))
    Customer.objects.filter(pk__in=[c.pk for c in customers]).update(officer=to_user, unit_id=to_user.unit_id,
                                                                     version=F("version") + 1)
    for customer in customers:
        audit(actor=actor, action="handover", obj=customer, reason=reason, payload={
            "role": "officer", "from": from_user.username, "to": to_user.username, "handover": handover.pk,
            "unit": {"old": customer.unit_id, "new": to_user.unit_id}})


def _loans(user) -> list[WorkItem]:
    rows = (Loan.objects.filter(marketing_officer=user).exclude(status__in=CLOSED).order_by("pk")
            .values_list("pk", "application_no"))
    return [WorkItem("loans", pk, no or f"#{pk}", pk) for pk, no in rows]


def _check_loans(to_user, ids) -> None:
    for loan in Loan.objects.filter(pk__in=ids).order_by("pk"):
        rules.check_separation(loan, to_user, rules.MARKETING)


def _move_loans(*, from_user, to_user, actor, ids, reason, handover) -> None:
    loans = list(Loan.objects.select_for_update().filter(pk__in=ids, marketing_officer=from_user).order_by("pk"))
    for loan in loans:
        rules.check_separation(loan, to_user, rules.MARKETING)
    Loan.objects.filter(pk__in=[loan.pk for loan in loans]).update(marketing_officer=to_user, unit_id=to_user.unit_id)
    for loan in loans:
        LoanHandover.objects.create(loan=loan, role="marketing", from_user=from_user, to_user=to_user, by=actor,
                                    reason=reason[:200])
        audit(actor=actor, action="handover", loan=loan, reason=reason, payload={
            "role": "marketing", "from": from_user.username, "to": to_user.username, "handover": handover.pk,
            "unit": {"old": loan.unit_id, "new": to_user.unit_id}})


def _investigations(user) -> list[WorkItem]:
    rows = _open_rounds(user).order_by("pk").values_list("pk", "loan_id", "loan__application_no")
    return [WorkItem("investigations", pk, no or f"#{loan_id}", loan_id) for pk, loan_id, no in rows]


def _move_investigations(*, from_user, to_user, actor, ids, reason, handover) -> None:
    # Every open round of the giver (the list computed at approval is all of them); rule 26 checked there.
    investigations_hand_over(from_user=from_user, to_user=to_user, actor=actor, reason=reason[:200])


def register_work() -> None:
    register(WorkKind("customers", lambda: _("customers"), _customers, _move_customers,
                      posts=frozenset({P.MARKETING}), receiver_posts=frozenset({P.MARKETING}), order=10))
    register(WorkKind("loans", lambda: _("loans as marketing officer"), _loans, _move_loans,
                      posts=frozenset({P.MARKETING}), receiver_posts=frozenset({P.MARKETING}),
                      check_receiver=_check_loans, order=20))
    register(WorkKind("investigations", lambda: _("open investigations"), _investigations, _move_investigations,
                      posts=frozenset({P.INVESTIGATOR}), receiver_posts=frozenset({P.INVESTIGATOR}), order=30))
