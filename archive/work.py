"""Archive files a person has borrowed (调阅, loans-out): moved by a hand-over to the successor, who answers for
their return (loancenter.work, SPEC §13). Registered by ``ArchiveConfig.ready``."""

from __future__ import annotations

from django.db.models import F
from django.utils.translation import gettext as _

from applications.workflow import audit
from archive.models import Lending
from loancenter.work import WorkItem, WorkKind, register

OPEN = (Lending.REQUESTED, Lending.APPROVED, Lending.OUT)


def _loans_out(user) -> list[WorkItem]:
    rows = (Lending.objects.filter(requester=user, status__in=OPEN).order_by("pk")
            .values_list("pk", "lending_no", "loan_id", "loan__application_no"))
    return [WorkItem("archive_lendings", pk, f"{no or '#' + str(pk)} ({app_no or loan_id})", loan_id)
            for pk, no, loan_id, app_no in rows]


def _move_loans_out(*, from_user, to_user, actor, ids, reason, handover) -> None:
    lendings = list(Lending.objects.select_for_update().select_related("loan")
                    .filter(pk__in=ids, requester=from_user).order_by("pk"))
    Lending.objects.filter(pk__in=[x.pk for x in lendings]).update(requester=to_user, version=F("version") + 1)
    for lending in lendings:
        audit(actor=actor, action="handover", loan=lending.loan, obj=lending, reason=reason, payload={
            "role": "archive_lending", "from": from_user.username, "to": to_user.username, "handover": handover.pk})


def register_work() -> None:
    register(WorkKind("archive_lendings", lambda: _("archive files borrowed"), _loans_out, _move_loans_out, order=60))
