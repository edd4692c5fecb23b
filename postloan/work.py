"""The open work of post-loan management a hand-over moves (loancenter.work, SPEC §13): T1 collection cases, which
only their owner works. Registered by ``PostloanConfig.ready``."""

from __future__ import annotations

from django.utils.translation import gettext as _

from applications.workflow import audit
from loancenter import posts as P
from loancenter.work import WorkItem, WorkKind, register
from postloan.models import CollectionCase


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


def register_work() -> None:
    register(WorkKind("collection_cases", lambda: _("T1 collection cases"), _t1_cases, _move_t1_cases,
                      posts=frozenset({P.MARKETING}), receiver_posts=frozenset({P.MARKETING}), order=40))
