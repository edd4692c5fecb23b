"""The open work of post-loan management a hand-over moves (loancenter.work, SPEC §13): T1 collection cases, which
only their owner works, and the open post-loan checks and early-warning signals a person owns (SPEC §12). Registered
by ``PostloanConfig.ready``."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from applications.selectors import unit_scope
from applications.workflow import audit
from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.work import QueueKind, QueueRow, WorkItem, WorkKind, register, register_queue
from postloan.models import CollectionAction, CollectionCase, PostLoanCheck, Signal


def _t1_cases(user) -> list[WorkItem]:
    rows = (CollectionCase.objects.filter(owner=user, owner_post=P.MARKETING, closed_on__isnull=True).order_by("pk")
            .values_list("pk", "loan_id", "loan__application_no"))
    return [WorkItem("collection_cases", pk, no or f"#{loan_id}", loan_id) for pk, loan_id, no in rows]


def _move_t1_cases(*, from_user, to_user, actor, ids, reason, handover) -> None:
    cases = list(CollectionCase.objects.select_for_update().select_related("loan")
                 .filter(pk__in=ids, owner=from_user).order_by("pk"))
    CollectionCase.objects.filter(pk__in=[c.pk for c in cases]).update(owner=to_user)
    for case in cases:
        audit(actor=actor, action="handover", loan=case.loan, obj=case, reason=reason, payload={
            "role": "collection", "from": from_user.username, "to": to_user.username, "handover": handover.pk})


def _owned(model, kind: str):
    """The open rows of ``model`` (a check or a signal) that ``user`` owns in person, and how to move them."""
    def items(user) -> list[WorkItem]:
        rows = (model.objects.filter(owner=user, status=model.OPEN).order_by("pk")
                .values_list("pk", "loan_id", "loan__application_no"))
        return [WorkItem(kind, pk, no or f"#{loan_id}", loan_id) for pk, loan_id, no in rows]

    def move(*, from_user, to_user, actor, ids, reason, handover) -> None:
        rows = list(model.objects.select_for_update().select_related("loan")
                    .filter(pk__in=ids, owner=from_user, status=model.OPEN).order_by("pk"))
        model.objects.filter(pk__in=[r.pk for r in rows]).update(owner=to_user)
        for row in rows:
            audit(actor=actor, action="handover", loan=row.loan, obj=row, reason=reason, payload={
                "role": kind, "from": from_user.username, "to": to_user.username, "handover": handover.pk})

    return items, move


# ---------------------------------------------------------------------------------------------------------------
# The home page's post-loan queues (SPEC §8, §12): checks, signals and promises to pay that wait for the reader.

PROMISE_DAYS_AHEAD = 7  # a promise to pay shows from its day back to a week before


def _in_unit(qs, user):
    unit = unit_scope(user, "loan__")  # a sub-center's staff: their unit's loans (SPEC §16.26)
    return qs if unit is None else qs.filter(unit)


def _checks(user):
    from postloan.checks import open_checks_for

    return _in_unit(open_checks_for(user), user)


def _check_rows(user, limit: int) -> list[QueueRow]:
    day = today()
    return [QueueRow(f"{c.loan} · {c.loan.customer.name} · {c.get_kind_display()}", c.due_on,
                     reverse("check-complete", args=[c.pk]), c.due_on < day) for c in _checks(user)[:limit]]


def _signals(user):
    from postloan.signals import open_signals_for

    return _in_unit(open_signals_for(user), user)


def _signal_rows(user, limit: int) -> list[QueueRow]:
    from postloan.signals import name_of

    day = today()
    return [QueueRow(f"{s.loan} · {s.loan.customer.name} · {name_of(s.code)} ({s.get_level_display()})", s.deadline,
                     reverse("postloan-loan", args=[s.loan_id]), s.deadline < day) for s in _signals(user)[:limit]]


def _promises(user):
    """Promises to pay falling due from today to a week on, on the open cases the reader collects (T1: the officer's
    own; T2/T3: the general post)."""
    owned = Q(case__owner=user)
    if user.has_post(P.GENERAL):
        owned |= Q(case__owner_post=P.GENERAL)
    day = today()
    return _in_unit(CollectionAction.objects.filter(
        owned, case__closed_on__isnull=True, promise_date__gte=day,
        promise_date__lte=day + timedelta(days=PROMISE_DAYS_AHEAD)), user)


def _promise_rows(user, limit: int) -> list[QueueRow]:
    rows = _promises(user).select_related("loan__customer").order_by("promise_date", "id")[:limit]
    return [QueueRow(f"{a.loan} · {a.loan.customer.name}" + (f" · {a.promise_amount:,.2f}" if a.promise_amount else ""),
                     a.promise_date, reverse("collection-case", args=[a.case_id])) for a in rows]


def register_queues() -> None:
    collectors = frozenset({P.MARKETING, P.GENERAL})
    register_queue(QueueKind("post_loan_checks", lambda: _("Post-loan checks due"), collectors,
                             lambda user: _checks(user).order_by().count(), _check_rows, "monitoring-queue", order=50))
    register_queue(QueueKind("warning_signals", lambda: _("Open early-warning signals"), collectors,
                             lambda user: _signals(user).order_by().count(), _signal_rows, "monitoring-queue",
                             order=51))
    register_queue(QueueKind("promises_due", lambda: _("Promises to pay due"), collectors,
                             lambda user: _promises(user).count(), _promise_rows, "monitoring-queue", order=52))


def register_work() -> None:
    register(WorkKind("collection_cases", lambda: _("T1 collection cases"), _t1_cases, _move_t1_cases,
                      posts=frozenset({P.MARKETING}), receiver_posts=frozenset({P.MARKETING}), order=40))
    checks, move_checks = _owned(PostLoanCheck, "post_loan_checks")
    register(WorkKind("post_loan_checks", lambda: _("post-loan checks"), checks, move_checks,
                      posts=frozenset({P.MARKETING}), receiver_posts=frozenset({P.MARKETING}), order=45))
    signals, move_signals = _owned(Signal, "warning_signals")
    register(WorkKind("warning_signals", lambda: _("early-warning signals"), signals, move_signals,
                      posts=frozenset({P.MARKETING}), receiver_posts=frozenset({P.MARKETING}), order=46))
