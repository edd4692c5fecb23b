"""Early-warning signals (预警信号, SPEC §12, §16.18–21): the catalogue's names and required actions, raising a signal
by hand (or from a check's conclusion), closing one, and the figures the dashboard shows.

The nightly batch raises the behavioural ones set-based (``postloan.monitoring_batch``). An open red signal keeps the
loan at least 关注 at the next nightly grading (``postloan.batch``): raising or closing one queues the loan for it.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from applications.models import Loan, PendingRegrade, Status
from applications.workflow import audit
from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.lib.errors import Conflict, Forbidden, InvalidState, RuleViolation
from loancenter.refusals import note_loan, recorded
from loancenter.rules import check_maker_checker
from postloan.monitoring_models import LEVEL_RANK, LEVELS, PostLoanCheck, Signal, SignalType, owner_of

NAMES = {
    "first_missed_installment": gettext_lazy("First missed installment"),
    "partial_payments": gettext_lazy("Partial payments three months running"),
    "broken_promise": gettext_lazy("Broken promise to pay"),
    "dpd_30": gettext_lazy("More than 30 days past due"),
    "fund_use_overdue": gettext_lazy("Fund-use check overdue or proofs short"),
    "prohibited_use": gettext_lazy("Money used for a prohibited purpose"),
    "credit_deterioration": gettext_lazy("Credit report deteriorated"),
    "litigation": gettext_lazy("Litigation against the borrower"),
    "enforcement": gettext_lazy("Enforcement against the borrower"),
    "job_loss": gettext_lazy("Job loss"),
    "business_decline": gettext_lazy("Business decline"),
    "collateral_value_drop": gettext_lazy("Collateral value below the LTV limit"),
    "guarantor_trouble": gettext_lazy("Guarantor in trouble"),
}
ACTIONS = {
    "first_missed_installment": gettext_lazy("Call the borrower and find out why the installment was missed."),
    "partial_payments": gettext_lazy("Visit the borrower and review their ability to repay."),
    "broken_promise": gettext_lazy("Contact the borrower again and agree a firm payment date."),
    "dpd_30": gettext_lazy("Hand over to the general post; consider the guarantor and the collateral."),
    "fund_use_overdue": gettext_lazy("Obtain the proofs of use and complete the fund-use check."),
    "prohibited_use": gettext_lazy("Report to the center manager; stop further drawings and consider recall."),
    "credit_deterioration": gettext_lazy("Query the credit report again and review the borrower's debts."),
    "litigation": gettext_lazy("Find out the claims and protect the bank's rights."),
    "enforcement": gettext_lazy("Find out what is enforced and protect the collateral."),
    "job_loss": gettext_lazy("Check the borrower's income and the guarantors."),
    "business_decline": gettext_lazy("Visit the business and review its accounts."),
    "collateral_value_drop": gettext_lazy("Have the collateral revalued and ask for more security."),
    "guarantor_trouble": gettext_lazy("Review the guarantor and ask for another guarantee if needed."),
}
RAISE_POSTS = (P.MARKETING, P.REVIEWER, P.GENERAL, P.MANAGER)
CLOSE_POSTS = (P.MARKETING, P.GENERAL, P.MANAGER)


def name_of(code: str) -> str:
    return str(NAMES.get(code, code))


def action_of(code: str) -> str:
    return str(ACTIONS.get(code, ""))


def _catalogue(code: str) -> SignalType:
    entry = SignalType.objects.filter(pk=code).first()
    if entry is None:
        raise RuleViolation("unknown_code", _("Unknown signal: %(code)s.") % {"code": code}, field="code")
    return entry


def raise_signal(*, loan: Loan, actor, code: str, level: str | None = None, note: str = "") -> Signal:
    """Raise a signal on ``loan`` (locked by the caller, inside its transaction) with an extra check for its owner.

    ``level`` may raise the catalogue's level, never lower it (SPEC §16.21)."""
    entry = _catalogue(code)
    if level and level not in LEVEL_RANK:
        raise RuleViolation("level", _("The level is red, orange or yellow."), field="level")
    if level and LEVEL_RANK[level] < LEVEL_RANK[entry.level]:
        raise RuleViolation("level_too_low", _("The catalogue's level of this signal is %(level)s; it may be raised, "
                                               "never lowered.") % {"level": dict(LEVELS)[entry.level]}, field="level")
    if loan.status != Status.ACTIVE:
        raise InvalidState(_("Signals are raised on active loans (this one is %(s)s).") % {"s": loan.get_status_display()})
    if Signal.objects.filter(loan=loan, code=code, status=Signal.OPEN).exists():
        raise Conflict("signal_open", _("This loan already has an open signal “%(name)s”.") % {"name": name_of(code)})

    post, owner = owner_of(loan)
    if entry.owner_post == P.GENERAL:
        post, owner = P.GENERAL, None
    raised_on = today()
    signal = Signal.objects.create(
        loan=loan, code=code, level=level or entry.level, source=Signal.MANUAL, raised_on=raised_on, raised_by=actor,
        owner_post=post, owner=owner, deadline=raised_on + timedelta(days=entry.deadline_days), note=(note or "").strip())
    PostLoanCheck.objects.create(loan=loan, kind=PostLoanCheck.SIGNAL, due_on=signal.deadline, created_on=raised_on,
                                 owner_post=post, owner=owner, signal=signal,
                                 needs_signoff=loan.product.category == "business")
    if signal.level == "red":
        PendingRegrade.objects.bulk_create([PendingRegrade(loan_id=loan.pk)], ignore_conflicts=True)
    audit(actor=actor, action="signal_raise", loan=loan, obj=signal,
          payload={"code": code, "level": signal.level}, reason=signal.note)
    return signal


@recorded("signal_raise", posts=RAISE_POSTS)
def signal_raise(*, loan_id: int, actor, code: str, level: str | None = None, note: str = "") -> Signal:
    """A person raises a signal (credit-report deterioration, litigation, job loss, a guarantor in trouble…)."""
    with transaction.atomic():
        loan = Loan.objects.select_for_update().select_related("product", "marketing_officer").get(pk=loan_id)
        return raise_signal(loan=loan, actor=actor, code=code, level=level, note=note)


def may_close(signal: Signal, user) -> bool:
    """Its owner, the general post or the manager (SPEC §16.21)."""
    return (signal.owner_id == user.pk or user.has_any_post(P.GENERAL, P.MANAGER)
            or (signal.owner_id is None and user.has_post(signal.owner_post)))


@recorded("signal_close", loan=("signal_id", Signal), posts=CLOSE_POSTS)
def signal_close(*, signal_id: int, actor, reason: str) -> Signal:
    """Close a signal with a reason; a red one never by whoever raised it (403 ``separation_of_duty``)."""
    with transaction.atomic():
        signal = Signal.objects.select_for_update().get(pk=signal_id)
        note_loan(signal.loan_id)
        if not may_close(signal, actor):
            raise Forbidden("not_owner", _("Only the signal's owner, the general post or the manager closes it."))
        if signal.status != Signal.OPEN:
            raise InvalidState(_("This signal is already closed."))
        if signal.level == "red":
            check_maker_checker(signal.raised_by_id, actor, what=_("raised this red signal"))
        if not (reason or "").strip():
            raise RuleViolation("reason_required", _("Give the reason for closing the signal."), field="reason")
        signal.status, signal.closed_by, signal.closed_at, signal.close_reason = (
            Signal.CLOSED, actor, timezone.now(), reason.strip())
        signal.save(update_fields=["status", "closed_by", "closed_at", "close_reason"])
        if signal.level == "red":  # the floor it set goes at the next grading
            PendingRegrade.objects.bulk_create([PendingRegrade(loan_id=signal.loan_id)], ignore_conflicts=True)
        audit(actor=actor, action="signal_close", loan=signal.loan, obj=signal,
              payload={"code": signal.code, "level": signal.level}, reason=signal.close_reason)
    return signal


# ---------------------------------------------------------------------------------------------------------------
# Reading


def open_signals_for(user):
    mine = signal_queue_filter(user)
    return (Signal.objects.filter(mine, status=Signal.OPEN).select_related("loan", "loan__customer", "owner")
            .order_by("deadline", "id"))


def signal_queue_filter(user):
    from django.db.models import Q

    mine = Q(owner=user)
    for post in (P.MARKETING, P.GENERAL):
        if user.has_post(post):
            mine |= Q(owner__isnull=True, owner_post=post)
    return mine


def open_counts(*, by: str = "level", filters: dict | None = None) -> list[dict]:
    """Open signals counted by ``level``, ``product``, ``officer`` (the loan's marketing officer) or ``code``."""
    field = {"level": "level", "product": "loan__product__name", "officer": "loan__marketing_officer__username",
             "code": "code"}[by]
    qs = Signal.objects.filter(status=Signal.OPEN, **(filters or {}))
    return list(qs.values(key=models_f(field)).annotate(n=Count("id")).order_by("key"))


def models_f(field: str):
    from django.db.models import F

    return F(field)


def level_counts() -> dict[str, int]:
    counts = dict(Signal.objects.filter(status=Signal.OPEN).values_list("level").annotate(n=Count("id")))
    return {code: counts.get(code, 0) for code, _label in LEVELS}


def promises_rows(user, day, *, back: int = 7, ahead: int = 7):
    """The contacts with a promise to pay around ``day`` on the cases ``user`` owns, promise date first."""
    from django.db.models import Q

    from postloan.models import CollectionAction

    owned = Q(case__owner=user)
    if user.has_post(P.GENERAL):
        owned |= Q(case__owner_post=P.GENERAL)
    return (CollectionAction.objects.filter(owned, promise_date__gte=day - timedelta(days=back),
                                            promise_date__lte=day + timedelta(days=ahead))
            .select_related("loan", "loan__customer").order_by("promise_date", "id"))


def promises_due(user, day, *, back: int = 7, ahead: int = 7, narrow=None) -> list:
    """Promises to pay around ``day`` on the collection cases ``user`` owns (T1: the officer; T2/T3: the general
    post), each with what was paid since the contact and whether it is kept, broken or still open. ``narrow(rows)``:
    the page's loan filters (``applications.listing``), applied before the first 200 are read."""
    from django.db.models import Sum

    from postloan.models import Repayment

    rows = promises_rows(user, day, back=back, ahead=ahead)
    actions = list((narrow(rows) if narrow is not None else rows)[:200])
    for action in actions:
        paid = Repayment.objects.filter(loan_id=action.loan_id, paid_on__gte=action.contact_day,
                                        paid_on__lte=action.promise_date).aggregate(s=Sum("amount"))["s"] or 0
        action.paid = paid
        wanted = action.promise_amount or 0
        if paid and paid >= wanted:
            action.outcome = "kept"
        elif action.promise_date < day:
            action.outcome = "broken"
        else:
            action.outcome = "open"
    return actions
