"""Servicing requests (SPEC §3 rules 18–20): prepayment, extension, change of repayment account or borrower data.

Each request is filed by one person (the loan's marketing officer, or the general post) and reviewed by a reviewer
who is not the filer. Extension and changes of data apply when approved; a prepayment is approved first and then
executed by the posts that post money (general, disbursement — they also stand for the core-banking feed), since
only then is the money there. See docs/decisions.md, "Servicing requests".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from applications import rules as app_rules
from applications.models import Customer, Loan, Status
from applications.services import customer_audit
from applications.workflow import audit, jsonable
from loancenter import posts as P
from loancenter.lib import versioning
from loancenter.lib.dates import add_months, today
from loancenter.lib.errors import Conflict, Forbidden, InvalidState, RuleViolation
from loancenter.lib.money import BULLET, EQUAL_INSTALLMENT, EQUAL_PRINCIPAL, ZERO, period_interest, q2
from loancenter.refusals import recorded
from loancenter.rules import check_maker_checker, check_past_date, check_transition
from postloan import rules
from postloan.models import (
    ACCRUAL_FIELDS,
    Installment,
    RateHistory,
    Repayment,
    RepaymentAccount,
    ServicingRequest,
    accrue_penalties,
    rate_history,
    rate_in_force,
)
from postloan.repricing import resume_clock
from postloan.schedule import Row, build_schedule
from postloan.services import REPAYMENT_POSTS, allocate, loan_settle, reprovision

SR = ServicingRequest
BORROWER_FIELDS = ("name", "phone", "address", "employer", "occupation", "monthly_income", "monthly_debt_payment",
                   "civil_capacity", "id_number")  # every verified fact of rule 23 changes here after disbursement
PREPAYMENTS = (SR.PREPAY_PARTIAL, SR.PREPAY_FULL)
PLAN_METHODS = (EQUAL_INSTALLMENT, EQUAL_PRINCIPAL)  # a negotiated plan pays by monthly installments
PLAN_MAX_MONTHS = 120


# ---------------------------------------------------------------------------------------------------------------
# Schedule arithmetic


def _installments(loan: Loan) -> list[Installment]:
    return list(Installment.objects.select_for_update().filter(loan=loan).order_by("number"))


def _period_start(loan: Loan, installments: list[Installment], on: date) -> date:
    """The start of the running period: the last due date on or before ``on``, or the value date."""
    past = [i.due_date for i in installments if i.due_date <= on]
    return max(past) if past else loan.receipt.value_date


def _future(installments: list[Installment], on: date) -> list[Installment]:
    future = [i for i in installments if i.due_date > on]
    if any(i.paid_principal or i.paid_interest or i.paid_penalty for i in future):
        raise RuleViolation(
            "future_installment_paid",
            _("An installment not yet due has already been partly paid; its payment must be settled before the "
              "schedule can be recomputed."),
        )
    return future


def _accrued(balance: Decimal, annual_rate: Decimal, start: date, on: date) -> Decimal:
    """Interest from ``start`` to ``on`` at annual/360 a day (SPEC §5)."""
    return q2(balance * annual_rate * max((on - start).days, 0) / 360)


def _schedule_at_rates(loan: Loan, rates: RateHistory, *, amount: Decimal, first_number: int, months: int,
                       method: str) -> list[tuple[Row, date | None]]:
    """The rows of installments ``first_number``… (month indexes from the value date) for ``amount``, each period at
    its rate (``RateHistory.on`` its start, the previous month's due date), with the repricing date it was computed at
    (``Installment.repriced_on``). Amortised at the last period's rate (the current rate: every period but the running
    one starts after today); where the first period started before the latest repricing date, its interest is its
    balance × its own rate / 12 (as the batch leaves that installment at the old rate) and its principal stays the
    amortisation's, so the principal still sums to ``amount``. A fixed-rate loan: one rate, the builder's rows."""
    value_date = loan.receipt.value_date
    bases = [rates.basis(add_months(value_date, first_number + k - 1)) for k in range(months)]
    rows = build_schedule(amount=amount, annual_rate=bases[-1][0], term_months=months, method=method,
                          value_date=value_date)
    out, balance = [], q2(amount)
    for row, (rate, since) in zip(rows, bases, strict=True):
        if rate != bases[-1][0]:
            row = Row(row.number, row.due_date, row.principal, period_interest(balance, rate))
        out.append((row, since))
        balance -= row.principal
    return out


def _rebuild(loan: Loan, future: list[Installment], *, balance: Decimal, last_number: int) -> list[Installment]:
    """Rewrite the installments from the first future one to ``last_number`` for ``balance``: same method, each
    period at its rate (``_schedule_at_rates``), due dates on the value date's day each month; rows beyond the old last
    one are created."""
    receipt = loan.receipt
    first = future[0].number
    rows = _schedule_at_rates(loan, rate_history(loan), amount=balance, first_number=first,
                              months=last_number - first + 1, method=receipt.repayment_method)
    existing = {i.number: i for i in future}
    changed, created = [], []
    for offset, (row, since) in enumerate(rows):
        number = first + offset
        due = add_months(receipt.value_date, number)
        inst = existing.get(number)
        if inst is None:
            created.append(Installment(loan=loan, number=number, due_date=due, principal=row.principal,
                                       interest=row.interest, repriced_on=since))
        else:
            inst.due_date, inst.principal, inst.interest, inst.repriced_on = due, row.principal, row.interest, since
            changed.append(inst)
    Installment.objects.bulk_update(changed, ["due_date", "principal", "interest", "repriced_on"])
    Installment.objects.bulk_create(created)
    return changed + created


def _refresh_oldest_unpaid(loan: Loan) -> None:
    loan.oldest_unpaid_due = (
        Installment.objects.filter(loan=loan, paid_off_on__isnull=True).order_by("due_date").values_list("due_date", flat=True).first()
    )


def payoff_quote(loan: Loan, on: date) -> dict[str, Decimal]:
    """What full prepayment on ``on`` costs: everything due (with the penalty accrued up to ``on``), the
    principal not yet due, and its interest from the start of the running period to ``on`` (annual/360 a day)."""
    installments = list(loan.installments.order_by("number"))
    due = [i for i in installments if i.paid_off_on is None and i.due_date <= on]
    future = [i for i in installments if i.due_date > on]
    rates = rate_history(loan)
    due_total = sum((i.due_on(on, rates) for i in due), ZERO)
    principal = sum((i.principal - i.paid_principal for i in future), ZERO)
    start = _period_start(loan, installments, on)
    interest = _accrued(principal, rates.on(start), start, on)  # the running period's rate
    return {"due": due_total, "principal": principal, "accrued_interest": interest, "total": due_total + principal + interest}


# ---------------------------------------------------------------------------------------------------------------
# Filing


def _check_filer(loan: Loan, actor) -> None:
    if not actor.has_post(P.GENERAL) and loan.marketing_officer_id != actor.pk:
        raise Forbidden("not_owner", _("A servicing request is filed by the loan's own marketing officer or the general post."))
    app_rules.check_separation(loan, actor, None)
    if loan.status != Status.ACTIVE:
        raise InvalidState(_("Servicing requests are filed only for active loans (this one is %(s)s).")
                           % {"s": loan.get_status_display()})


def _extended_months(loan: Loan) -> int:
    return SR.objects.filter(loan=loan, kind=SR.EXTENSION, status=SR.APPROVED).aggregate(
        m=Sum("extension_months"))["m"] or 0


def _check_extension(loan: Loan, months: int, consent: bool) -> None:
    rules.check_extension(original_term=loan.approved_term_months, already_extended=_extended_months(loan), months=months,
                          has_guarantors=loan.guarantors.exists(), consent=consent)
    app_rules.check_age_at_maturity(loan.customer, loan.product, start=loan.receipt.value_date,
                                    term_months=loan.approved_term_months + _extended_months(loan) + months)


def _borrower_changes(customer: Customer, data: dict) -> tuple[dict, dict]:
    unknown = set(data) - set(BORROWER_FIELDS)
    if unknown:
        raise RuleViolation("borrower_field", _("These fields cannot be changed here: %(f)s.") % {"f": ", ".join(sorted(unknown))})
    changes = {k: v for k, v in data.items() if getattr(customer, k) != v}
    if not changes:
        raise RuleViolation("no_change", _("Nothing differs from the borrower's current data."))
    return changes, {k: getattr(customer, k) for k in changes}


def _validate_customer(customer: Customer, changes: dict) -> None:
    if "id_number" in changes:
        changes["id_number"] = changes["id_number"].strip().upper()
    for key, value in changes.items():
        setattr(customer, key, value)
    customer.full_clean(exclude=["officer", "birth_date", "gender", *(() if "id_number" in changes else ("id_number",))])


@recorded("servicing_file", posts=(P.MARKETING, P.GENERAL))
def servicing_file(*, loan_id: int, actor, kind: str, reason: str = "", amount: Decimal | None = None,
                   extension_months: int | None = None, guarantor_consent: bool = False,
                   account_no: str = "", bank: str = "", changes: dict | None = None,
                   plan_months: int | None = None, plan_method: str = "") -> ServicingRequest:
    """File a servicing request; the rules are checked now (to fail early) and again when it is approved."""
    with transaction.atomic():
        loan = Loan.objects.select_for_update().select_related("customer", "product").get(pk=loan_id)
        _check_filer(loan, actor)
        if SR.objects.filter(loan=loan, kind=kind, status=SR.PENDING).exists():
            raise Conflict("request_pending", _("A request of this kind is already waiting for review on this loan."))
        request = SR(loan=loan, kind=kind, filed_by=actor, reason=reason or "")
        if kind == SR.PREPAY_PARTIAL:
            if amount is None or amount <= 0:
                raise RuleViolation("amount", _("Give the amount to prepay."), field="amount")
            if amount >= loan.outstanding_principal:
                raise RuleViolation("amount", _("%(a)s covers the whole outstanding principal %(p)s; file a full prepayment.")
                                    % {"a": f"{amount:,.2f}", "p": f"{loan.outstanding_principal:,.2f}"}, field="amount")
            request.amount = amount
        elif kind == SR.PREPAY_FULL:
            pass
        elif kind == SR.EXTENSION:
            if not extension_months or extension_months < 1:
                raise RuleViolation("extension_months", _("Give the extension in months."), field="extension_months")
            _check_extension(loan, extension_months, guarantor_consent)
            request.extension_months, request.guarantor_consent = extension_months, guarantor_consent
        elif kind == SR.PLAN:
            _check_plan_terms(loan, plan_months, plan_method, guarantor_consent, today())
            request.plan_months, request.plan_method = plan_months, plan_method
            request.guarantor_consent = guarantor_consent
        elif kind == SR.ACCOUNT:
            if not account_no.strip():
                raise RuleViolation("account_no", _("Give the new repayment account."), field="account_no")
            current = RepaymentAccount.objects.filter(loan=loan).first()
            request.new_value = {"account_no": account_no.strip(), "bank": bank.strip()}
            request.old_value = {"account_no": current.account_no, "bank": current.bank} if current else {}
        elif kind == SR.BORROWER:
            new, old = _borrower_changes(loan.customer, changes or {})
            _validate_customer(Customer.objects.get(pk=loan.customer_id), new)
            request.new_value, request.old_value = jsonable(new), jsonable(old)
        else:
            raise RuleViolation("kind", _("Unknown kind of servicing request."), field="kind")
        request.save()
        audit(actor=actor, action="servicing_file", loan=loan, obj=request,
              payload={"kind": kind, "amount": request.amount, "extension_months": request.extension_months,
                       "plan_months": request.plan_months, "plan_method": request.plan_method,
                       "new": request.new_value}, reason=request.reason)
    return request


# ---------------------------------------------------------------------------------------------------------------
# Review


def _lock_request(request_id: int, version: int | None = None) -> tuple[ServicingRequest, Loan]:
    request = SR.objects.select_for_update().get(pk=request_id)
    # The version the deciding page showed (rule 22): a compare-and-swap, so a decision taken on a stale page is refused.
    versioning.bump(request, expected=version)
    loan = Loan.objects.select_for_update().select_related("customer", "product").get(pk=request.loan_id)
    request.loan = loan
    return request, loan


def _check_reviewer(request: ServicingRequest, loan: Loan, actor, decision) -> None:
    """``decision``: the request's transition the reviewer takes (``request.approve`` or ``request.reject``)."""
    check_maker_checker(request.filed_by_id, actor, what=_("filed this servicing request"))
    app_rules.check_separation(loan, actor, None)
    check_transition(decision, _("This request is already %(s)s.") % {"s": request.get_status_display()})
    if loan.status != Status.ACTIVE:
        raise InvalidState(_("The loan is no longer active (%(s)s).") % {"s": loan.get_status_display()})


@recorded("servicing_approve", loan=("request_id", SR), posts=(P.REVIEWER,))
def servicing_approve(*, request_id: int, actor, note: str = "", version: int | None = None) -> ServicingRequest:
    """A reviewer who did not file it approves: data changes and extensions apply now, prepayments await execution."""
    on = today()
    with transaction.atomic():
        request, loan = _lock_request(request_id, version)
        _check_reviewer(request, loan, actor, request.approve)
        result: dict = {}
        if request.kind == SR.PREPAY_PARTIAL and request.amount >= loan.outstanding_principal:
            raise RuleViolation("amount", _("The amount now covers the whole outstanding principal; a full prepayment is needed."))
        if request.kind == SR.EXTENSION:
            result = _apply_extension(loan, request, on)
        elif request.kind == SR.PLAN:
            result = _apply_plan(loan, request, on)
        elif request.kind == SR.ACCOUNT:
            current = RepaymentAccount.objects.filter(loan=loan).first()
            request.old_value = {"account_no": current.account_no, "bank": current.bank} if current else {}
            RepaymentAccount.objects.update_or_create(loan=loan, defaults={**request.new_value, "since": on})
        elif request.kind == SR.BORROWER:
            customer = Customer.objects.select_for_update().get(pk=loan.customer_id)
            new, old = _borrower_changes(customer, _typed(request.new_value))
            _validate_customer(customer, new)
            customer.save()
            request.old_value = jsonable(old)
            customer_audit(actor=actor, action="customer_update", customer=customer,
                           payload={"old": old, "new": new, "servicing_request": request.pk})
        request.approve()
        request.reviewed_by, request.reviewed_at = actor, timezone.now()
        request.review_note, request.result = note or "", jsonable(result)
        request.save()
        audit(actor=actor, action="servicing_approve", loan=loan, obj=request,
              payload={"kind": request.kind, "old": request.old_value, "new": request.new_value, **request.result},
              reason=request.review_note)
    return request


def _typed(values: dict) -> dict:
    """The JSON-kept new values back as the model's types (money as Decimal)."""
    return {k: Decimal(v) if k in ("monthly_income", "monthly_debt_payment") else v for k, v in values.items()}


@recorded("servicing_reject", loan=("request_id", SR), posts=(P.REVIEWER,))
def servicing_reject(*, request_id: int, actor, note: str, version: int | None = None) -> ServicingRequest:
    with transaction.atomic():
        request, loan = _lock_request(request_id, version)
        _check_reviewer(request, loan, actor, request.reject)
        if not (note or "").strip():
            raise RuleViolation("note_required", _("Give the reason for rejecting the request."), field="note")
        request.reject()
        request.reviewed_by, request.reviewed_at, request.review_note = actor, timezone.now(), note.strip()
        request.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
        audit(actor=actor, action="servicing_reject", loan=loan, obj=request, payload={"kind": request.kind},
              reason=request.review_note)
    return request


def _apply_extension(loan: Loan, request: ServicingRequest, on: date) -> dict:
    """Rule 19: rebuild the remaining schedule to the new maturity; the loan counts as restructured."""
    _check_extension(loan, request.extension_months, request.guarantor_consent)
    installments = _installments(loan)
    future = _future(installments, on)
    if not future:
        raise RuleViolation("matured", _("Every installment is already due; an extension is agreed before maturity (rule 19)."))
    months = request.extension_months
    balance = sum((i.principal for i in future), ZERO)
    old_maturity = installments[-1].due_date
    if loan.receipt.repayment_method == BULLET:
        inst = future[0]
        # The added months run from the old maturity: at the rate in force then (a bullet loan's single installment
        # never reprices, so its own months keep their rate).
        inst.interest += period_interest(balance, rate_in_force(loan, old_maturity), months)
        inst.due_date = add_months(loan.receipt.value_date, loan.approved_term_months + _extended_months(loan) + months)
        inst.save(update_fields=["due_date", "interest"])
        period = max(1, (inst.due_date.year - on.year) * 12 + inst.due_date.month - on.month)
        new_maturity = inst.due_date
    else:
        rows = _rebuild(loan, future, balance=balance, last_number=installments[-1].number + months)
        new_maturity = max(r.due_date for r in rows)
        period = 1
    resume_clock(loan, new_maturity)
    # Observation: at least 2 repayment periods and at least one year from the restructuring (SPEC §6).
    loan.restructured, loan.restructured_on = True, on
    loan.observation_until = max(add_months(on, 2 * period), add_months(on, 12))
    loan.grade = rules.worse(loan.grade or "normal", "special_mention")
    reprovision(loan)
    _refresh_oldest_unpaid(loan)
    loan.save(update_fields=["restructured", "restructured_on", "observation_until", "grade", "provision", "oldest_unpaid_due"])
    return {"old_maturity": old_maturity, "new_maturity": new_maturity, "months": months,
            "observation_until": loan.observation_until}


# ---------------------------------------------------------------------------------------------------------------
# Negotiated repayment plan (协商还款计划): a reviewed restructuring (SPEC §12 collections strategy, §6 observation)


@dataclass
class Plan:
    """A negotiated plan as it stands on ``on``: what is replaced and the new installments.

    - ``principal``: the outstanding principal, which the new installments' principal sums to exactly;
    - ``arrears``: the unpaid interest of the installments due on or before ``on`` plus the penalty accrued up to
      ``on``; not capitalised (no interest on it), it is spread over the new installments' interest in equal cents,
      the last one taking what is left;
    - the new installments fall due monthly on the value date's day, the first one month after the start of the running
      period (so the running period's interest is charged once, by the first new installment);
    - ``replaced``: the unpaid installments without any payment (removed); ``closed``: those partly paid, closed at what
      was paid (their unpaid rest is in ``principal`` and ``arrears``); paid installments are untouched.
    """

    on: date
    months: int
    method: str
    principal: Decimal
    arrears_interest: Decimal
    arrears_penalty: Decimal
    first_number: int
    rows: list[Installment] = field(default_factory=list)
    replaced: list[Installment] = field(default_factory=list)
    closed: list[Installment] = field(default_factory=list)

    @property
    def arrears(self) -> Decimal:
        return self.arrears_interest + self.arrears_penalty

    @property
    def first_due(self) -> date:
        return self.rows[0].due_date

    @property
    def last_due(self) -> date:
        return self.rows[-1].due_date


def _check_plan_terms(loan: Loan, months, method: str, consent: bool, on: date) -> None:
    if not months or not 1 <= months <= PLAN_MAX_MONTHS:
        raise RuleViolation("plan_months", _("Give the plan's number of monthly installments (1 to %(max)s).")
                            % {"max": PLAN_MAX_MONTHS}, field="plan_months")
    if method not in PLAN_METHODS:
        raise RuleViolation("plan_method", _("A repayment plan pays by equal installments or equal principal."),
                            field="plan_method")
    if loan.days_past_due_on(on) <= 0:
        raise RuleViolation("not_in_arrears", _("A negotiated repayment plan is for a loan in arrears; a borrower who is "
                                                "current and needs more time asks for an extension (rule 19)."))
    if loan.guarantors.exists() and not consent:
        raise RuleViolation("guarantor_consent", _("The guarantors' written consent to the restructuring is required "
                                                   "(their obligation changes with the schedule)."),
                            field="guarantor_consent")


def plan_for(loan: Loan, installments: list[Installment], *, months: int, method: str, on: date) -> Plan:
    """The plan of ``months`` installments by ``method`` replacing ``installments``' unpaid ones on ``on`` (the rows are
    not saved; the unpaid installments get their penalty accrued up to ``on``, in memory)."""
    receipt = loan.receipt
    unpaid = [i for i in installments if i.paid_off_on is None]
    accrue_penalties(loan, unpaid, on)
    closed = [i for i in unpaid if i.paid_principal or i.paid_interest or i.paid_penalty]
    replaced = [i for i in unpaid if i not in closed]
    kept = [i for i in installments if i.paid_off_on is not None] + closed
    principal = sum((i.principal - i.paid_principal for i in unpaid), ZERO)
    arrears_interest = sum((i.interest - i.paid_interest for i in unpaid if i.due_date <= on), ZERO)
    arrears_penalty = sum((i.penalty - i.paid_penalty for i in unpaid), ZERO)
    # Installment numbers are month indexes from the value date (as the schedule, extension and prepayment keep them):
    # the first new one is the first month whose due date is after ``on`` and after every installment kept.
    number = max([i.number for i in kept], default=0) + 1
    last_kept = max([i.due_date for i in kept], default=receipt.value_date)
    while add_months(receipt.value_date, number) <= max(on, last_kept):
        number += 1
    rows = _schedule_at_rates(loan, rate_history(loan), amount=principal, first_number=number, months=months,
                              method=method)
    arrears = arrears_interest + arrears_penalty
    share = (arrears / months).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    shares = [share] * (months - 1) + [arrears - share * (months - 1)]
    new = [Installment(loan=loan, number=number + k, due_date=add_months(receipt.value_date, number + k),
                       principal=row.principal, interest=row.interest + shares[k], repriced_on=since)
           for k, (row, since) in enumerate(rows)]
    return Plan(on=on, months=months, method=method, principal=principal, arrears_interest=arrears_interest,
                arrears_penalty=arrears_penalty, first_number=number, rows=new, replaced=replaced, closed=closed)


def plan_preview(request: ServicingRequest, on: date) -> Plan | None:
    """What approving a pending plan today would write (the reviewer's page); None when it cannot be computed."""
    loan = request.loan
    if request.kind != SR.PLAN or request.status != SR.PENDING or loan.status != Status.ACTIVE:
        return None
    installments = list(loan.installments.order_by("number"))
    if not any(i.paid_off_on is None for i in installments):
        return None
    return plan_for(loan, installments, months=request.plan_months, method=request.plan_method, on=on)


def _row(i: Installment) -> dict:
    return {"number": i.number, "due_date": i.due_date, "principal": i.principal, "interest": i.interest,
            "paid_principal": i.paid_principal, "paid_interest": i.paid_interest, "penalty": i.penalty,
            "paid_penalty": i.paid_penalty}


def _apply_plan(loan: Loan, request: ServicingRequest, on: date) -> dict:
    """Approve a negotiated plan: the unpaid installments are replaced by the plan's, the principal sums exactly to the
    outstanding principal, paid installments stay as they are; the loan is restructured (SPEC §6 observation)."""
    _check_plan_terms(loan, request.plan_months, request.plan_method, request.guarantor_consent, on)
    installments = _installments(loan)
    months = request.plan_months
    plan = plan_for(loan, installments, months=months, method=request.plan_method, on=on)
    app_rules.check_age_at_maturity(loan.customer, loan.product, start=loan.receipt.value_date,
                                    term_months=plan.rows[-1].number)
    if plan.principal != loan.outstanding_principal or sum((r.principal for r in plan.rows), ZERO) != plan.principal:
        raise RuleViolation("schedule_mismatch", _("The schedule's unpaid principal %(s)s differs from the loan's "
                                                   "outstanding principal %(o)s; the plan cannot be applied.")
                            % {"s": f"{plan.principal:,.2f}", "o": f"{loan.outstanding_principal:,.2f}"})
    old = {"replaced": [_row(i) for i in plan.replaced], "closed": [_row(i) for i in plan.closed]}
    for inst in plan.closed:  # closed at what was paid; the rest moved into the plan
        inst.principal, inst.interest = inst.paid_principal, inst.paid_interest
        inst.penalty = inst.penalty_accrued = inst.paid_penalty
        inst.penalty_through, inst.paid_off_on, inst.status = on, on, Installment.PAID
    Installment.objects.bulk_update(plan.closed, ["principal", "interest", "penalty", "penalty_accrued",
                                                  "penalty_through", "paid_off_on", "status"])
    Installment.objects.filter(pk__in=[i.pk for i in plan.replaced]).delete()
    Installment.objects.bulk_create(plan.rows)
    resume_clock(loan, plan.last_due)
    # Restructured (SPEC §6): at least 关注 for an observation period of at least 2 repayment periods and 1 year,
    # restarted by a missed payment (the nightly batch).
    loan.restructured, loan.restructured_on = True, on
    loan.observation_until = max(add_months(on, 2), add_months(on, 12))
    loan.grade = rules.worse(loan.grade or "normal", "special_mention")
    reprovision(loan)
    loan.oldest_unpaid_due = plan.first_due
    loan.save(update_fields=["restructured", "restructured_on", "observation_until", "grade", "provision",
                             "oldest_unpaid_due"])
    return {"plan_months": months, "plan_method": request.plan_method, "principal": plan.principal,
            "arrears_interest": plan.arrears_interest, "arrears_penalty": plan.arrears_penalty,
            "first_due": plan.first_due, "last_due": plan.last_due, "observation_until": loan.observation_until,
            **old}


# ---------------------------------------------------------------------------------------------------------------
# Execution of an approved prepayment (the money arrives)


@recorded("servicing_execute", loan=("request_id", SR), posts=REPAYMENT_POSTS)
def servicing_execute(*, request_id: int, actor, paid_on: date, reference: str,
                      version: int | None = None) -> ServicingRequest:
    """Post an approved prepayment. Partial: the amount pays what is due on ``paid_on`` first (penalty → interest →
    principal), the rest goes to principal, and the remaining installments are recomputed (same dates, lower amounts).
    Full: everything due, the principal not yet due and its accrued interest; then the loan is settled."""
    reference = (reference or "").strip()
    if not reference:
        raise RuleViolation("reference", _("A payment carries a reference."), field="reference")
    with transaction.atomic():
        request, loan = _lock_request(request_id, version)
        app_rules.check_separation(loan, actor, None)
        if request.kind not in PREPAYMENTS:
            raise InvalidState(_("Only a prepayment is executed; other requests apply when approved."))
        check_transition(request.execute, _("Only an approved prepayment is executed (this one is %(s)s).")
                         % {"s": request.get_status_display()})
        if loan.status != Status.ACTIVE:
            raise InvalidState(_("The loan is no longer active (%(s)s).") % {"s": loan.get_status_display()})
        if Repayment.objects.filter(reference=reference).exists():
            raise Conflict("reference_reused", _("Reference %(ref)s was already used.") % {"ref": reference})
        check_past_date(paid_on, field="paid_on", code="paid_on", not_before=loan.receipt.value_date,
                        not_before_what=_("the loan's value date"))
        if request.kind == SR.PREPAY_PARTIAL:
            repayment, result = _execute_partial(loan, request, actor, paid_on, reference)
        else:
            repayment, result = _execute_full(loan, actor, paid_on, reference)
        request.execute()
        request.executed_by, request.executed_at = actor, timezone.now()
        request.paid_on, request.reference = paid_on, reference
        request.result = jsonable({**request.result, **result, "repayment": repayment.pk})
        request.save()
        audit(actor=actor, action="servicing_execute", loan=loan, obj=request,
              payload={"kind": request.kind, "reference": reference, "paid_on": paid_on, **result})
        if request.kind == SR.PREPAY_FULL:
            loan_settle(loan_id=loan.pk, actor=actor)
    return request


def _post(loan: Loan, actor, *, amount: Decimal, paid_on: date, reference: str, lines: list[dict],
          principal: Decimal) -> Repayment:
    totals = {p: sum((line[p] for line in lines), ZERO) for p in ("penalty", "interest")}
    try:
        with transaction.atomic():  # a twin with the same reference may have committed since it was looked for
            return Repayment.objects.create(
                loan=loan, reference=reference, amount=amount, paid_on=paid_on, to_penalty=totals["penalty"],
                to_interest=totals["interest"], to_principal=principal, allocation=jsonable(lines), posted_by=actor,
            )
    except IntegrityError:
        raise Conflict("reference_reused", _("Reference %(ref)s was already used.") % {"ref": reference}) from None


def _execute_partial(loan: Loan, request: ServicingRequest, actor, paid_on: date, reference: str):
    amount = request.amount
    installments = _installments(loan)
    accrue_penalties(loan, installments, paid_on)
    due = [i for i in installments if i.paid_off_on is None and i.due_date <= paid_on]
    owed_now = sum((i.total_due for i in due), ZERO)
    to_principal = amount - owed_now
    if to_principal <= 0:
        raise RuleViolation("amount", _("%(a)s does not exceed the %(d)s due now; post it as an ordinary repayment.")
                            % {"a": f"{amount:,.2f}", "d": f"{owed_now:,.2f}"})
    future = _future(installments, paid_on)
    balance = sum((i.principal for i in future), ZERO)
    if to_principal >= balance:
        raise RuleViolation("amount", _("After what is due, %(a)s covers the whole remaining principal; a full prepayment "
                                        "is needed.") % {"a": f"{to_principal:,.2f}"})
    lines = allocate(due, owed_now, paid_on)
    Installment.objects.bulk_update(due, ["paid_principal", "paid_interest", "paid_penalty", "paid_off_on", *ACCRUAL_FIELDS])
    start = _period_start(loan, installments, paid_on)
    rate = rate_in_force(loan, start)  # the running period's: its start's
    if loan.receipt.repayment_method == BULLET:  # one installment at maturity: interest for the whole term, less the part prepaid
        rows = future
        inst = future[0]
        term = (inst.due_date.year - start.year) * 12 + inst.due_date.month - start.month
        inst.principal = balance - to_principal
        inst.interest = period_interest(inst.principal, rate, term)
        inst.save(update_fields=["principal", "interest"])
    else:
        rows = _rebuild(loan, future, balance=balance - to_principal, last_number=future[-1].number)
    # The prepaid principal was outstanding from the start of the running period to the payment date: that interest
    # (annual/360 a day) is added to the next installment, so the borrower pays for the days they had the money.
    accrued = _accrued(to_principal, rate, start, paid_on)
    if accrued:
        first = min(rows, key=lambda r: r.number)
        first.interest += accrued
        first.save(update_fields=["interest"])
    due_principal = sum((line["principal"] for line in lines), ZERO)
    lines.append({"installment": None, "penalty": ZERO, "interest": ZERO, "principal": to_principal, "prepayment": True})
    repayment = _post(loan, actor, amount=amount, paid_on=paid_on, reference=reference, lines=lines,
                      principal=due_principal + to_principal)
    loan.outstanding_principal -= due_principal + to_principal
    reprovision(loan)
    _refresh_oldest_unpaid(loan)
    loan.save(update_fields=["outstanding_principal", "provision", "oldest_unpaid_due"])
    return repayment, {"amount": amount, "to_due_items": owed_now, "to_principal": to_principal,
                       "accrued_interest_added": accrued, "installments_recomputed": len(rows)}


def _execute_full(loan: Loan, actor, paid_on: date, reference: str):
    installments = _installments(loan)
    accrue_penalties(loan, installments, paid_on)
    quote = payoff_quote(loan, paid_on)
    future = _future(installments, paid_on)
    for k, inst in enumerate(future):  # the interest not yet earned is not owed; the running period's is
        inst.interest = quote["accrued_interest"] if k == 0 else ZERO
    Installment.objects.bulk_update(future, ["interest"])
    unpaid = [i for i in installments if i.paid_off_on is None]
    lines = allocate(unpaid, quote["total"], paid_on)
    Installment.objects.bulk_update(unpaid, ["paid_principal", "paid_interest", "paid_penalty", "paid_off_on", *ACCRUAL_FIELDS])
    principal = sum((line["principal"] for line in lines), ZERO)
    repayment = _post(loan, actor, amount=quote["total"], paid_on=paid_on, reference=reference, lines=lines,
                      principal=principal)
    loan.outstanding_principal -= principal
    loan.oldest_unpaid_due = None
    loan.save(update_fields=["outstanding_principal", "oldest_unpaid_due"])
    return repayment, {k: v for k, v in quote.items()}
