"""Filing and confirming LPR publications (SPEC §15, §16.32): one person files, another confirms (maker ≠ checker)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.lpr.models import LprPublication
from loancenter import posts as P
from loancenter.audit_trail import audit
from loancenter.lib.errors import InvalidState, RuleViolation
from loancenter.refusals import recorded
from loancenter.rules import check_maker_checker, check_past_date

LPR_POSTS = (P.GENERAL, P.MANAGER)
# A published LPR has always lain between these (percent per year); outside them it is a typo, not a rate.
LPR_MIN, LPR_MAX = Decimal("0.005"), Decimal("0.20")


def _check_rate(value: Decimal, field: str) -> None:
    if value is None or not (LPR_MIN <= value <= LPR_MAX):
        raise RuleViolation("lpr_rate", _("The LPR is a yearly rate as a fraction between %(lo)s and %(hi)s "
                                          "(e.g. 0.0345 for 3.45%%).") % {"lo": LPR_MIN, "hi": LPR_MAX}, field=field)


@recorded("lpr_file", posts=LPR_POSTS)
@transaction.atomic
def lpr_file(*, actor, published_on: date, lpr_1y: Decimal, lpr_5y: Decimal, note: str = "") -> LprPublication:
    """Record a publication; it is pending (not in force) until another person confirms it."""
    check_past_date(published_on, field="published_on", code="published_on")
    _check_rate(lpr_1y, "lpr_1y")
    _check_rate(lpr_5y, "lpr_5y")
    taken = LprPublication.objects.filter(published_on=published_on,
                                          status__in=[LprPublication.State.PENDING, LprPublication.State.CONFIRMED])
    if taken.exists():
        raise RuleViolation("lpr_exists", _("A publication of %(d)s is already recorded (pending or in force).")
                            % {"d": published_on.isoformat()}, field="published_on")
    try:
        with transaction.atomic():
            publication = LprPublication.objects.create(published_on=published_on, lpr_1y=lpr_1y, lpr_5y=lpr_5y,
                                                        filed_by=actor, note=(note or "").strip()[:200])
    except IntegrityError:  # a twin request filed the same date meanwhile
        raise RuleViolation("lpr_exists", _("A publication of %(d)s is already recorded (pending or in force).")
                            % {"d": published_on.isoformat()}, field="published_on") from None
    audit(actor=actor, action="lpr_file", obj=publication,
          payload={"published_on": published_on, "lpr_1y": lpr_1y, "lpr_5y": lpr_5y})
    return publication


def _decide(publication_id: int, actor, action: str) -> LprPublication:
    publication = LprPublication.objects.select_for_update().get(pk=publication_id)
    if publication.status != LprPublication.State.PENDING:
        raise InvalidState(_("This publication was already decided."))
    check_maker_checker(publication.filed_by_id, actor, what=_("filed this LPR publication"))
    getattr(publication, action)()
    publication.decided_by, publication.decided_at = actor, timezone.now()
    publication.save(update_fields=["status", "decided_by", "decided_at"])
    audit(actor=actor, action=f"lpr_{action}", obj=publication,
          payload={"published_on": publication.published_on, "lpr_1y": publication.lpr_1y,
                   "lpr_5y": publication.lpr_5y, "filed_by": publication.filed_by_id})
    return publication


@recorded("lpr_confirm", posts=LPR_POSTS)
@transaction.atomic
def lpr_confirm(*, publication_id: int, actor) -> LprPublication:
    """A second person confirms: from now on the publication is in force for approvals and repricing."""
    return _decide(publication_id, actor, "confirm")


@recorded("lpr_reject", posts=LPR_POSTS)
@transaction.atomic
def lpr_reject(*, publication_id: int, actor) -> LprPublication:
    """A second person finds it wrong (a typo): it never takes effect; the filer records it again."""
    return _decide(publication_id, actor, "reject")
