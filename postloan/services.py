"""Schedules, repayments and settlement (SPEC §5)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from applications.models import Loan, Status
from applications.rules import check_separation
from applications.workflow import audit, jsonable, run_transition
from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.lib.errors import Conflict, InvalidState, RuleViolation
from loancenter.lib.money import ZERO, q2
from loancenter.refusals import recorded
from loancenter.rules import check_amount, check_past_date
from postloan.batch import provision_rates
from postloan.models import ACCRUAL_FIELDS, Installment, Repayment, accrue_penalties, rate_history
from postloan.repricing import start_rate
from postloan.schedule import build_schedule

REPAYMENT_POSTS = (P.GENERAL, P.DISBURSEMENT)  # they also stand for the core-banking feed (SPEC §9)


def schedule_create(*, loan: Loan) -> list[Installment]:
    """Write the schedule of a loan being disbursed, from its receipt (value date, rate, method)."""
    receipt = loan.receipt
    rows = build_schedule(amount=receipt.amount, annual_rate=receipt.annual_rate, term_months=loan.approved_term_months,
                          method=receipt.repayment_method, value_date=receipt.value_date)
    installments = Installment.objects.bulk_create(
        [Installment(loan=loan, number=r.number, due_date=r.due_date, principal=r.principal, interest=r.interest) for r in rows]
    )
    loan.outstanding_principal = receipt.amount
    loan.oldest_unpaid_due = rows[0].due_date
    loan.grade = "normal"
    start_rate(loan, value_date=receipt.value_date, last_due=rows[-1].due_date)  # SPEC §15: the LPR loan's clock
    return installments


def reprovision(loan: Loan) -> None:
    """The loan's provision for its balance at its current grade (the nightly batch applies the same rates)."""
    loan.provision = q2(loan.outstanding_principal * provision_rates()[loan.grade or "normal"])


def outstanding_total(loan: Loan, on: date | None = None, installments: list[Installment] | None = None) -> Decimal:
    """Everything still owed on ``on`` (today): unpaid principal, interest and penalty of every installment
    (``installments``: the loan's, already read, as stored)."""
    on = on or today()
    if installments is None:
        unpaid = loan.installments.filter(paid_off_on__isnull=True)
    else:
        unpaid = [i for i in installments if i.paid_off_on is None]
    rates = rate_history(loan)
    return sum((i.due_on(on, rates) for i in unpaid), ZERO)


def allocate(installments: list[Installment], amount: Decimal, paid_on: date) -> list[dict]:
    """Penalty → interest → principal, oldest installment first (SPEC §5; docs/decisions.md)."""
    remaining = amount
    lines = []
    for inst in installments:
        if remaining <= 0:
            break
        line = {"installment": inst.number, "penalty": ZERO, "interest": ZERO, "principal": ZERO}
        for part in ("penalty", "interest", "principal"):
            owed = getattr(inst, part) - getattr(inst, f"paid_{part}")
            take = min(owed, remaining)
            if take > 0:
                setattr(inst, f"paid_{part}", getattr(inst, f"paid_{part}") + take)
                line[part] = take
                remaining -= take
        if any(line[p] for p in ("penalty", "interest", "principal")):
            lines.append(line)
        if inst.total_due == 0:
            inst.status, inst.paid_off_on = Installment.PAID, paid_on
        elif inst.paid_principal or inst.paid_interest or inst.paid_penalty:
            inst.status = Installment.PARTIAL if inst.status != Installment.OVERDUE else Installment.OVERDUE
    return lines


@recorded("repayment", posts=REPAYMENT_POSTS)
def repayment_post(*, loan_id: int, actor, amount: Decimal, paid_on: date, reference: str) -> tuple[Repayment, bool]:
    """Apply a payment; returns (repayment, created). The same reference again returns the first result, applying nothing.

    The same new reference sent to two loans at once: one is applied, the other is refused (409 ``reference_reused``)
    — the unique reference decides between them, whichever loan's lock was taken first.
    """
    reference = (reference or "").strip()
    if not reference:
        raise RuleViolation("reference", _("A payment carries a reference."), field="reference")
    existing = Repayment.objects.filter(reference=reference).first()
    if existing is not None:
        return _same_reference(existing, loan_id), False
    check_amount(amount)
    try:
        return _apply_repayment(loan_id=loan_id, actor=actor, amount=Decimal(amount), paid_on=paid_on,
                                reference=reference)
    except IntegrityError:
        # A concurrent twin with the same reference committed first (on another loan, whose lock this one never
        # waited for): its row answers, as a repeat of it would.
        existing = Repayment.objects.filter(reference=reference).first()
        if existing is None:
            raise
        return _same_reference(existing, loan_id), False


def _apply_repayment(*, loan_id: int, actor, amount: Decimal, paid_on: date, reference: str) -> tuple[Repayment, bool]:
    with transaction.atomic():
        loan = Loan.objects.select_for_update().get(pk=loan_id)
        existing = Repayment.objects.filter(reference=reference).first()  # a concurrent twin may have won the lock
        if existing is not None:
            return _same_reference(existing, loan_id), False
        check_separation(loan, actor, None)  # SPEC §4: never on a loan one borrows or guarantees
        if loan.status not in (Status.ACTIVE,):
            raise InvalidState(_("Repayments are posted only to active loans (this one is %(s)s).") % {"s": loan.get_status_display()})
        disbursed_on = Loan.objects.filter(pk=loan_id).values_list("disbursement__disbursed_on", flat=True).first()
        check_past_date(paid_on, field="paid_on", code="paid_on", not_before=disbursed_on,
                        not_before_what=_("the loan's disbursement"))
        installments = list(loan.installments.filter(paid_off_on__isnull=True).order_by("number").select_for_update())
        accrue_penalties(loan, installments, paid_on)  # the penalty up to the payment date, before its base changes
        owed = sum((i.total_due for i in installments), ZERO)
        if amount > owed:
            raise RuleViolation(
                "overpayment",
                _("The payment %(amount)s exceeds everything still owed on the loan, %(owed)s.")
                % {"amount": f"{amount:,.2f}", "owed": f"{owed:,.2f}"},
                field="amount",
            )
        lines = allocate(installments, amount, paid_on)
        Installment.objects.bulk_update(installments, ["paid_principal", "paid_interest", "paid_penalty", "paid_off_on",
                                                       *ACCRUAL_FIELDS])
        totals = {p: sum((line[p] for line in lines), ZERO) for p in ("penalty", "interest", "principal")}
        repayment = Repayment.objects.create(
            loan=loan, reference=reference, amount=amount, paid_on=paid_on, to_penalty=totals["penalty"],
            to_interest=totals["interest"], to_principal=totals["principal"], allocation=jsonable(lines), posted_by=actor,
        )
        loan.outstanding_principal -= totals["principal"]
        reprovision(loan)  # at the same grade: the night regrades only if the tier or grade may change
        unpaid = [i.due_date for i in installments if i.paid_off_on is None]
        loan.oldest_unpaid_due = min(unpaid) if unpaid else None
        loan.save(update_fields=["outstanding_principal", "provision", "oldest_unpaid_due"])
        audit(actor=actor, action="repayment", loan=loan, obj=repayment,
              payload={"reference": reference, "amount": amount, "paid_on": paid_on, **totals})
    return repayment, True


def _same_reference(existing: Repayment, loan_id: int) -> Repayment:
    if existing.loan_id != int(loan_id):
        raise Conflict("reference_reused", _("Reference %(ref)s was already used for another loan.") % {"ref": existing.reference})
    return existing


def is_paid_up(loan: Loan, owed: Decimal | None = None) -> bool:
    """Active with nothing owed today (``owed``: ``outstanding_total(loan)``, already counted)."""
    return loan.status == Status.ACTIVE and (outstanding_total(loan) if owed is None else owed) == 0


def loan_settle(*, loan_id: int, actor) -> Loan:
    """Close a loan whose balance and penalty are fully paid (SPEC §2)."""

    def check(loan: Loan) -> None:
        owed = outstanding_total(loan)
        if owed > 0:
            raise RuleViolation("not_paid_up", _("%(owed)s is still owed; the loan cannot be settled.") % {"owed": f"{owed:,.2f}"})

    def apply(loan: Loan) -> None:
        loan.provision = ZERO  # nothing left to provide for

    return run_transition(loan_id=loan_id, actor=actor, name="settle", check=check, apply=apply)
