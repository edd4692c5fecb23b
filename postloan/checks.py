"""Post-loan checks (贷后检查, SPEC §12, §16.17–20): check plans, the fund-use check created after disbursement, the
routine checks the nightly batch creates, the officer's report and conclusion, the reviewer's sign-off of a business
loan's check, and the fund-use record (资金用途监控) the fund-use check completes.

Owners: the loan's marketing officer; a loan in collection tier T2/T3 belongs to the general post (SPEC §12). The
owner is set when the check is created (docs/decisions.md).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.catalog import CATEGORY_BUSINESS, CATEGORY_CONSUMER, PROHIBITED_FOR_CONSUMER, PROHIBITED_PURPOSES
from applications.models import Loan, Product, Status
from applications.workflow import audit
from loancenter import posts as P
from loancenter.lib.dates import add_months, today
from loancenter.lib.errors import Forbidden, InvalidState, RuleViolation
from loancenter.refusals import note_loan, recorded
from loancenter.rules import check_maker_checker
from postloan.monitoring_models import (
    CheckPlan,
    CreditQuery,
    FundUse,
    FundUseProof,
    LoanMonitoring,
    PostLoanCheck,
    Signal,
    owner_of,
)

log = logging.getLogger(__name__)

# SPEC §12 defaults: the fund-use check within N calendar days of disbursement, routine checks every M months.
DEFAULT_FUND_USE_DAYS = {CATEGORY_BUSINESS: 15}
FUND_USE_DAYS = 30
DEFAULT_ROUTINE_MONTHS = {CATEGORY_BUSINESS: 3, CATEGORY_CONSUMER: 6, "housing": 12, "auto": 12}
# A self payment's proofs of use are due within 30 days (SPEC §12).
PROOF_DAYS = 30
# A routine check appears in its owner's queue this many days before it is due (docs/decisions.md).
ROUTINE_LEAD_DAYS = 15
PLAN_POSTS = (P.GENERAL, P.MANAGER)
CHECK_POSTS = (P.MARKETING, P.GENERAL)
SIGNOFF_POSTS = (P.REVIEWER,)


def plan_for(product: Product) -> tuple[int, int]:
    """(fund-use check days, routine check months) of ``product``: its plan, or SPEC §12's defaults."""
    plan = CheckPlan.objects.filter(product=product).first()
    if plan is not None:
        return plan.fund_use_days, plan.routine_months
    return (DEFAULT_FUND_USE_DAYS.get(product.category, FUND_USE_DAYS),
            DEFAULT_ROUTINE_MONTHS.get(product.category, 6))


def _positive(value, field: str, maximum: int) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise RuleViolation(field, _("Enter a whole number."), field=field) from None
    if not 1 <= number <= maximum:
        raise RuleViolation(field, _("Enter a number from 1 to %(max)s.") % {"max": maximum}, field=field)
    return number


@recorded("check_plan_set", posts=PLAN_POSTS)
def check_plan_set(*, actor, product_id: int, fund_use_days, routine_months) -> CheckPlan:
    """A product's check plan, set by the general post or the manager (issue 18, part 1)."""
    days = _positive(fund_use_days, "fund_use_days", 365)
    months = _positive(routine_months, "routine_months", 120)
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product_id)
        plan, _created = CheckPlan.objects.update_or_create(
            product=product, defaults={"fund_use_days": days, "routine_months": months, "updated_by": actor})
        audit(actor=actor, action="check_plan_set", obj=plan,
              payload={"product": product.code, "fund_use_days": days, "routine_months": months})
    return plan


# ---------------------------------------------------------------------------------------------------------------
# After disbursement


def after_disbursement(*, loan_id: int, counterparty: dict | None = None) -> PostLoanCheck | None:
    """What ``disburse`` leaves to its own transaction (SPEC §16.17): the fund-use record, the routine-check clock and
    the fund-use check due on disbursed on + N calendar days. Run once the disbursement has committed; a failure
    here is logged and never undoes the disbursement (the funds are out). Idempotent."""
    try:
        with transaction.atomic():
            loan = Loan.objects.select_for_update(of=("self",)).select_related("product", "disbursement",
                                                                   "marketing_officer").get(pk=loan_id)
            disbursement = loan.disbursement
            days, months = plan_for(loan.product)
            counterparty = counterparty or {}
            FundUse.objects.get_or_create(loan=loan, defaults={
                "payment_mode": disbursement.payment_mode, "amount": disbursement.amount,
                "counterparty_name": (counterparty.get("counterparty_name") or "").strip(),
                "counterparty_account": (counterparty.get("counterparty_account") or "").strip(),
                "counterparty_bank": (counterparty.get("counterparty_bank") or "").strip(),
                "pays_for": (counterparty.get("pays_for") or "").strip(),
                "proof_due_on": (disbursement.disbursed_on + timedelta(days=PROOF_DAYS)
                                 if disbursement.payment_mode == "self" else None),
            })
            LoanMonitoring.objects.get_or_create(loan=loan, defaults={
                "anchor": disbursement.disbursed_on, "months": months, "seq": 1,
                "next_routine_on": add_months(disbursement.disbursed_on, months)})
            post, owner = owner_of(loan)
            check, _created = PostLoanCheck.objects.get_or_create(loan=loan, kind=PostLoanCheck.FUND_USE, defaults={
                "due_on": disbursement.disbursed_on + timedelta(days=days), "created_on": today(),
                "owner_post": post, "owner": owner, "needs_signoff": loan.product.category == CATEGORY_BUSINESS})
            return check
    except Exception:  # noqa: BLE001 — the disbursement stands; the check is created again by a retry
        log.exception("fund-use check of loan %s not created", loan_id)
        return None


# ---------------------------------------------------------------------------------------------------------------
# The officer's report


def may_work_on(check: PostLoanCheck, user) -> bool:
    """The check's owner; a check owned by the general post (no person), anyone on that post."""
    if check.owner_id is not None:
        return check.owner_id == user.pk
    return user.has_post(check.owner_post)


def _lock_check(check_id: int) -> tuple[PostLoanCheck, Loan]:
    check = PostLoanCheck.objects.select_for_update().get(pk=check_id)
    note_loan(check.loan_id)
    loan = Loan.objects.select_for_update().select_related("product").get(pk=check.loan_id)
    check.loan = loan
    return check, loan


def _prohibited(loan: Loan, use: str) -> bool:
    return use in PROHIBITED_PURPOSES or (use in PROHIBITED_FOR_CONSUMER and loan.product.category != CATEGORY_BUSINESS)


PROHIBITED_USES = sorted(PROHIBITED_PURPOSES | PROHIBITED_FOR_CONSUMER)


def proofs_total(loan_id: int) -> Decimal:
    return FundUseProof.objects.filter(loan_id=loan_id).aggregate(s=Sum("amount"))["s"] or Decimal("0")


@recorded("check_complete", loan=("check_id", PostLoanCheck), posts=CHECK_POSTS)
def check_complete(*, check_id: int, actor, findings: str, conclusion: str, borrower_situation: str = "",
                   signal_code: str = "", signal_note: str = "", prohibited_use: str = "", evidence: str = "",
                   counterparty: dict | None = None, credit_query_ids=()) -> PostLoanCheck:
    """The owner's report: findings, the borrower's situation, a conclusion (normal / concern / raise a signal).

    A fund-use check also settles the fund-use record: the counterparty of an entrusted payment when disbursement
    did not record it (and the payee account must be the counterparty's), a self payment's proofs against the amount
    paid out (short: not normal, and the ``fund_use_overdue`` signal), a proven prohibited use with its evidence (the
    red ``prohibited_use`` signal, SPEC §16.24).
    """
    from postloan import signals

    findings = (findings or "").strip()
    if conclusion not in dict(PostLoanCheck.CONCLUSIONS):
        raise RuleViolation("conclusion", _("Choose a conclusion: normal, concern or raise a signal."), field="conclusion")
    if not findings:
        raise RuleViolation("findings", _("Write down what the check found."), field="findings")
    with transaction.atomic():
        check, loan = _lock_check(check_id)
        if not may_work_on(check, actor):
            raise Forbidden("not_owner", _("This check belongs to %(owner)s.") % {
                "owner": check.owner.get_full_name() or check.owner.username if check.owner else check.owner_post})
        if check.status != PostLoanCheck.OPEN:
            raise InvalidState(_("This check is already done."))
        raised: list[Signal] = []
        if check.kind == PostLoanCheck.FUND_USE:
            raised += _settle_fund_use(check, loan, actor, conclusion=conclusion, prohibited_use=prohibited_use,
                                       evidence=evidence, counterparty=counterparty or {})
        elif prohibited_use:
            raise RuleViolation("prohibited_use", _("A prohibited use is recorded by the fund-use check."),
                                field="prohibited_use")
        if conclusion == PostLoanCheck.SIGNAL and not raised:
            if not signal_code:
                raise RuleViolation("signal_code", _("Name the signal to raise."), field="signal_code")
            raised.append(signals.raise_signal(loan=loan, actor=actor, code=signal_code, note=signal_note or findings))
        queries = _relied_on(loan, credit_query_ids)
        check.findings, check.borrower_situation, check.conclusion = findings, (borrower_situation or "").strip(), conclusion
        check.status, check.completed_by, check.completed_at = PostLoanCheck.DONE, actor, timezone.now()
        check.save(update_fields=["findings", "borrower_situation", "conclusion", "status", "completed_by", "completed_at"])
        if queries:
            check.credit_queries.add(*queries)
        audit(actor=actor, action="check_complete", loan=loan, obj=check,
              payload={"kind": check.kind, "conclusion": conclusion, "signals": [s.code for s in raised]},
              reason=findings)
    return check


def _relied_on(loan, credit_query_ids) -> list[CreditQuery]:
    """The credit-bureau queries a check relied on (SPEC §12): the register's queries on the borrower or a guarantor of
    the loan; an id that is none of them is refused, named (400 ``credit_query_unknown``)."""
    ids = sorted({int(q) for q in credit_query_ids or ()})
    if not ids:
        return []
    people = {loan.customer_id, *loan.guarantors.values_list("customer_id", flat=True)}
    queries = list(CreditQuery.objects.filter(pk__in=ids, customer_id__in=people))
    unknown = sorted(set(ids) - {q.pk for q in queries})
    if unknown:
        raise RuleViolation("credit_query_unknown", _("No credit-bureau query %(ids)s on the borrower or a guarantor of "
                                                      "this loan.") % {"ids": ", ".join(map(str, unknown))},
                            field="credit_queries")
    return queries


def _settle_fund_use(check, loan, actor, *, conclusion, prohibited_use, evidence, counterparty) -> list[Signal]:
    from postloan import signals

    record = FundUse.objects.select_for_update().filter(loan=loan).first()
    raised: list[Signal] = []
    if record is None:  # a loan disbursed before this feature: the record starts now
        d = loan.disbursement
        record = FundUse.objects.create(loan=loan, payment_mode=d.payment_mode, amount=d.amount)
    if record.payment_mode == "entrusted":
        for field in ("counterparty_name", "counterparty_account", "counterparty_bank", "pays_for"):
            if not getattr(record, field) and (counterparty.get(field) or "").strip():
                setattr(record, field, counterparty[field].strip())
        missing = [f for f in ("counterparty_name", "counterparty_account", "counterparty_bank") if not getattr(record, f)]
        if missing:
            raise RuleViolation("counterparty_required",
                                _("Entrusted payment: record the counterparty's name, account and bank."),
                                field=missing[0])
        payee = "".join(loan.disbursement.payee_account.split())
        if payee != "".join(record.counterparty_account.split()):
            raise RuleViolation("payee_not_counterparty",
                                _("The money went to account %(payee)s, not to the counterparty's account %(account)s.")
                                % {"payee": payee, "account": record.counterparty_account}, field="counterparty_account")
    else:
        proven = proofs_total(loan.pk)
        if proven < record.amount:
            if conclusion == PostLoanCheck.NORMAL:
                raise RuleViolation("proofs_short",
                                    _("The proofs of use cover %(proven)s of the %(amount)s paid out; the conclusion "
                                      "cannot be normal.") % {"proven": f"{proven:,.2f}", "amount": f"{record.amount:,.2f}"},
                                    field="conclusion")
            if not Signal.objects.filter(loan=loan, code="fund_use_overdue", status=Signal.OPEN).exists():
                raised.append(signals.raise_signal(loan=loan, actor=actor, code="fund_use_overdue",
                                                   note=_("Proofs of use cover %(proven)s of %(amount)s.")
                                                   % {"proven": f"{proven:,.2f}", "amount": f"{record.amount:,.2f}"}))
    if prohibited_use:
        if not _prohibited(loan, prohibited_use):
            raise RuleViolation("prohibited_use", _("%(use)s is not a prohibited use.") % {"use": prohibited_use},
                                field="prohibited_use")
        if not (evidence or "").strip():
            raise RuleViolation("evidence_required", _("A prohibited use is recorded with its evidence file."),
                                field="evidence")
        if conclusion != PostLoanCheck.SIGNAL:
            raise RuleViolation("conclusion", _("A proven prohibited use is concluded by raising a signal."),
                                field="conclusion")
        record.prohibited_use, record.prohibited_evidence = prohibited_use, evidence.strip()
        raised.append(signals.raise_signal(loan=loan, actor=actor, code="prohibited_use", level="red",
                                           note=_("Prohibited use: %(use)s; evidence: %(evidence)s")
                                           % {"use": prohibited_use, "evidence": evidence.strip()}))
    record.save()
    return raised


@recorded("fund_use_proof_add", posts=CHECK_POSTS)
def fund_use_proof_add(*, loan_id: int, actor, amount, description: str, document: str = "") -> FundUseProof:
    """A proof of use the borrower brought (an invoice, a receipt), recorded with its amount."""
    from loancenter.rules import check_amount

    check_amount(amount)
    if not (description or "").strip():
        raise RuleViolation("description", _("Say what the proof shows."), field="description")
    with transaction.atomic():
        loan = Loan.objects.select_for_update().get(pk=loan_id)
        if loan.status != Status.ACTIVE:
            raise InvalidState(_("Proofs of use are recorded for active loans."))
        proof = FundUseProof.objects.create(loan=loan, amount=Decimal(str(amount)), description=description.strip(),
                                            document=(document or "").strip(), recorded_by=actor)
        audit(actor=actor, action="fund_use_proof_add", loan=loan, obj=proof, payload={"amount": proof.amount})
    return proof


@recorded("check_sign_off", loan=("check_id", PostLoanCheck), posts=SIGNOFF_POSTS)
def check_sign_off(*, check_id: int, actor, note: str = "") -> PostLoanCheck:
    """A reviewer signs off a business loan's completed check (SPEC §12); never the person who did the check."""
    with transaction.atomic():
        check, loan = _lock_check(check_id)
        if not check.needs_signoff:
            raise InvalidState(_("Only a business loan's check is signed off."))
        if check.status != PostLoanCheck.DONE:
            raise InvalidState(_("The check is not done yet."))
        if check.signed_off_by_id:
            raise InvalidState(_("This check is already signed off."))
        check_maker_checker(check.completed_by_id, actor, what=_("did this check"))
        check.signed_off_by, check.signed_off_at = actor, timezone.now()
        check.save(update_fields=["signed_off_by", "signed_off_at"])
        audit(actor=actor, action="check_sign_off", loan=loan, obj=check, reason=note or "")
    return check


# ---------------------------------------------------------------------------------------------------------------
# Reading


def open_checks_for(user):
    """The open checks in ``user``'s queue: theirs, and those of a post they hold that no person owns."""
    mine = Q(owner=user)
    for post in (P.MARKETING, P.GENERAL):
        if user.has_post(post):
            mine |= Q(owner__isnull=True, owner_post=post)
    return (PostLoanCheck.objects.filter(mine, status=PostLoanCheck.OPEN)
            .select_related("loan", "loan__customer", "owner").order_by("due_on", "id"))


def overdue_checks(on=None):
    return PostLoanCheck.objects.filter(status=PostLoanCheck.OPEN, due_on__lt=on or today())


def signoff_queue():
    return (PostLoanCheck.objects.filter(needs_signoff=True, status=PostLoanCheck.DONE, signed_off_by__isnull=True)
            .select_related("loan", "completed_by").order_by("completed_at"))


def ensure_fund_use_check(loan_id: int) -> PostLoanCheck | None:
    """The fund-use check of a disbursed loan, created if a failure after disbursement left it missing."""
    try:
        return PostLoanCheck.objects.get(loan_id=loan_id, kind=PostLoanCheck.FUND_USE)
    except PostLoanCheck.DoesNotExist:
        pass
    try:
        return after_disbursement(loan_id=loan_id)
    except IntegrityError:
        return PostLoanCheck.objects.filter(loan_id=loan_id, kind=PostLoanCheck.FUND_USE).first()
