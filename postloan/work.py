"""The open work of post-loan management a hand-over moves (loancenter.work, SPEC §13): T1 collection cases, which
only their owner works, and the open post-loan checks and early-warning signals a person owns (SPEC §12). Registered
by ``PostloanConfig.ready``."""

from __future__ import annotations

from django.utils.translation import gettext as _

from applications.workflow import audit
from loancenter import posts as P
from loancenter.work import WorkItem, WorkKind, register
from postloan.models import CollectionCase, PostLoanCheck, Signal


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


def register_work() -> None:
    register(WorkKind("collection_cases", lambda: _("T1 collection cases"), _t1_cases, _move_t1_cases,
                      posts=frozenset({P.MARKETING}), receiver_posts=frozenset({P.MARKETING}), order=40))
    checks, move_checks = _owned(PostLoanCheck, "post_loan_checks")
    register(WorkKind("post_loan_checks", lambda: _("post-loan checks"), checks, move_checks,
                      posts=frozenset({P.MARKETING}), receiver_posts=frozenset({P.MARKETING}), order=45))
    signals, move_signals = _owned(Signal, "warning_signals")
    register(WorkKind("warning_signals", lambda: _("early-warning signals"), signals, move_signals,
                      posts=frozenset({P.MARKETING}), receiver_posts=frozenset({P.MARKETING}), order=46))
