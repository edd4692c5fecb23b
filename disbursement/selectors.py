"""Reads for the contract-to-disbursement pages: the pre-disbursement checklist, the registration ledger and
what the loan page shows after approval (contracts, ledger line, receipt, disbursement, schedule, repayments).

No rule is decided here: the checklist asks the rule functions of ``disbursement.rules`` and shows their verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from applications.models import Loan, Status
from applications.selectors import loans_visible_to
from disbursement import rules
from disbursement.models import CollateralRegistration, Contract, Disbursement, LoanReceipt
from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.lib.errors import RuleViolation
from loancenter.lib.money import ZERO
from loancenter.models import User
from postloan.models import Installment
from postloan.selectors import schedule_as_of_book, schedule_totals, suggested_repayment_reference

# ---------------------------------------------------------------------------------------------------------------
# The pre-disbursement checklist (rules 13–17)


def disbursement_checklist(loan: Loan, *, on: date | None = None) -> list[tuple[str, bool, str]]:
    """Every condition of rules 13–17 as ``(label, ok, message)``; ``message`` is the rule's own refusal when not ok.

    ``on`` is the day the funds would go out: the receipt's value date once there is a receipt, else today.
    """
    loan = Loan.objects.select_related("product").get(pk=loan.pk)  # fresh relations (receipt, registration)
    receipt = LoanReceipt.objects.filter(loan=loan).first()
    on = on or (receipt.value_date if receipt else today())
    items: list[tuple[str, bool, str]] = []

    def ask(label: str, check, ok_message: str) -> None:
        try:
            check()
        except RuleViolation as refusal:
            items.append((label, False, refusal.message))
        else:
            items.append((label, True, ok_message))

    ask(_("Rule 13 · Loan, guarantee and mortgage contracts signed and effective"),
        lambda: rules.check_contracts_effective(loan, on=on),
        _("All contracts are signed and effective on %(on)s.") % {"on": on.isoformat()})
    ask(_("Rule 14 · Mortgage registered and certificate handed over"),
        lambda: rules.check_collateral_ready(loan),
        _("Registered and handed over.") if loan.product.secured else _("Unsecured loan: nothing to register."))
    ask(_("Rule 15 · Loan receipt prepared with the disbursement stamp"),
        lambda: rules.check_receipt_stamped(loan),
        _("Receipt %(no)s stamped.") % {"no": receipt.receipt_no} if receipt else "")
    done = Disbursement.objects.filter(loan=loan).first()
    items.append((
        _("Rule 16 · Not disbursed before"),
        done is None,
        _("Not disbursed yet.") if done is None
        else _("Already disbursed on %(on)s; a second disbursement is impossible.") % {"on": done.disbursed_on.isoformat()},
    ))
    ask(_("Rule 17 · Payment mode"), lambda: rules.check_payment_mode(loan, mode="entrusted", amount=_amount(loan)),
        payment_mode_note(loan))
    return items


def _amount(loan: Loan) -> Decimal:
    return loan.approved_amount or loan.amount


def self_payment_allowed(loan: Loan) -> bool:
    """Whether rule 17 would let this loan's borrower receive the funds directly (自主支付)."""
    try:
        rules.check_payment_mode(loan, mode="self", amount=_amount(loan))
    except RuleViolation:
        return False
    return True


def payment_mode_note(loan: Loan) -> str:
    if self_payment_allowed(loan):
        return _("Entrusted payment (受托支付) is the default. This loan is within rule 17, so self payment "
                 "(自主支付) may be chosen instead.")
    return _("Entrusted payment (受托支付) only: the funds go to the counterparty's account. Self payment is "
             "allowed only for consumer loans up to 300,000 or business loans up to 500,000 (rule 17).")


# ---------------------------------------------------------------------------------------------------------------
# The mortgage registration ledger (抵押登记台帐)

# A registration filed this many days ago and still not registered is overdue (docs/decisions.md).
REGISTRATION_OVERDUE_DAYS = 30
# A secured loan whose contracts were signed this many days ago with no application filed is overdue.
APPLICATION_OVERDUE_DAYS = 7

WAITING, APPLIED, REGISTERED, HANDED_OVER = "waiting", "applied", "registered", "handed_over"
# Lazy: a module-level label must follow each request's language, not the one active at import.
LEDGER_STATUSES = [
    (WAITING, gettext_lazy("Waiting for the application")),
    (APPLIED, pgettext_lazy("registration ledger", "Applied")),
    (REGISTERED, gettext_lazy("Registered")),
    (HANDED_OVER, gettext_lazy("Handed over")),
]

_STATUS_FILTER = {
    WAITING: Q(status=Status.CONTRACT_SIGNED, collateral_registration__isnull=True),
    APPLIED: Q(collateral_registration__isnull=False, collateral_registration__registered_on__isnull=True),
    REGISTERED: Q(collateral_registration__registered_on__isnull=False,
                  collateral_registration__handed_over_at__isnull=True),
    HANDED_OVER: Q(collateral_registration__handed_over_at__isnull=False),
}


@dataclass
class LedgerLine:
    loan: Loan
    entry: CollateralRegistration | None
    status: str
    status_label: str
    overdue: bool
    overdue_reason: str


def ledger_lines(user, *, status: str = "", as_of: date | None = None, narrow=None) -> list[LedgerLine]:
    """The ledger lines ``user`` may see, plus secured loans with signed contracts waiting for the clerk (``narrow``:
    the page's loan filters and sort, ``applications.listing``, applied to the loans in scope)."""
    as_of = as_of or today()
    loan_signed = Contract.objects.filter(loan=OuterRef("pk"), kind=Contract.KIND_LOAN).values("signed_on")[:1]
    loans: QuerySet[Loan] = (
        loans_visible_to(user)
        .filter(product__secured=True)
        .filter(Q(collateral_registration__isnull=False) | Q(status=Status.CONTRACT_SIGNED))
        .select_related("customer", "product", "marketing_officer", "collateral_registration",
                        "collateral_registration__clerk",
                        "collateral_registration__handed_over_to")
        .prefetch_related("collaterals")
        .annotate(contract_signed_on=Subquery(loan_signed))
        .order_by("status_changed_at", "id")
    )
    if status in _STATUS_FILTER:
        loans = loans.filter(_STATUS_FILTER[status])
    if narrow is not None:
        loans = narrow(loans)
    labels = dict(LEDGER_STATUSES)
    lines = []
    for loan in loans:
        entry = getattr(loan, "collateral_registration", None)
        if entry is None:
            line_status = WAITING
        elif entry.registered_on is None:
            line_status = APPLIED
        elif entry.handed_over_at is None:
            line_status = REGISTERED
        else:
            line_status = HANDED_OVER
        overdue, reason = False, ""
        if line_status == WAITING and loan.contract_signed_on and \
                loan.contract_signed_on < as_of - timedelta(days=APPLICATION_OVERDUE_DAYS):
            overdue = True
            reason = _("Contracts signed %(days)s days ago and no application filed (over %(limit)s days).") % {
                "days": (as_of - loan.contract_signed_on).days, "limit": APPLICATION_OVERDUE_DAYS}
        elif line_status == APPLIED and entry.applied_on < as_of - timedelta(days=REGISTRATION_OVERDUE_DAYS):
            overdue = True
            reason = _("Applied %(days)s days ago and not registered (over %(limit)s days).") % {
                "days": (as_of - entry.applied_on).days, "limit": REGISTRATION_OVERDUE_DAYS}
        lines.append(LedgerLine(loan, entry, line_status, str(labels[line_status]), overdue, reason))
    return lines


def disbursement_officers() -> QuerySet[User]:
    """Who may receive a mortgage certificate (rule 14)."""
    return User.objects.filter(is_active=True, groups__name=P.DISBURSEMENT).order_by("username").distinct()


# ---------------------------------------------------------------------------------------------------------------
# The loan page after approval


SCHEDULE_WINDOW = 12  # installments the loan page shows; the rest on the schedule's own page


def next_installments(installments: list[Installment], size: int = SCHEDULE_WINDOW) -> list[Installment]:
    """The loan page's part of a schedule: ``size`` installments from the first not paid off on, or the last
    ``size`` when every installment is paid off (docs/decisions.md)."""
    start = next((n for n, i in enumerate(installments) if i.paid_off_on is None), len(installments))
    start = max(0, min(start, len(installments) - size))
    return installments[start:start + size]




def after_approval(loan: Loan, user) -> dict:
    """Contracts, the ledger line, the receipt, the disbursement, the schedule and the repayments of a loan,
    and whether ``user`` may post a repayment or settle it now."""
    from postloan.services import REPAYMENT_POSTS, is_paid_up, outstanding_total

    if loan.approved_amount is None:  # nothing after approval yet: spare the queries
        return {"after_approval": False}
    active = loan.status == Status.ACTIVE
    installments = list(loan.installments.order_by("number"))  # read once: what is owed is counted before the schedule's copies change
    owed = outstanding_total(loan, installments=installments) if active else ZERO
    installments = schedule_as_of_book(loan, installments)
    return {
        "after_approval": True,
        "contracts": loan.contracts.select_related("guarantor__customer", "collateral"),
        "registration": CollateralRegistration.objects.select_related("clerk", "handed_over_to")
        .filter(loan=loan).first(),
        "receipt": LoanReceipt.objects.select_related("prepared_by", "stamped_by").filter(loan=loan).first(),
        "disbursement": Disbursement.objects.select_related("disburser").filter(loan=loan).first(),
        "installments": next_installments(installments),  # the whole schedule has its own page (loan-schedule)
        "installment_count": len(installments),
        "schedule_totals": schedule_totals(installments) if installments else None,
        "repayments": loan.repayments.select_related("posted_by").order_by("paid_on", "id"),
        "outstanding_total": owed,
        "can_post_repayment": active and user.has_any_post(*REPAYMENT_POSTS),
        "repayment_values": {"paid_on": today().isoformat(), "reference": suggested_repayment_reference(loan)},
        "paid_up": is_paid_up(loan, owed=owed),
    }
