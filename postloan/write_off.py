"""Write-off (核销, SPEC §3 rule 21) and the recoveries recorded after it.

Proposed by the general post with the legal documents listed; reviewed by a reviewer who is not the proposer;
approved by a manager or approver who is neither; then the ``write_off`` transition (general post) moves the loan
to ``written_off``, which it refuses without an approved write-off. Collection continues afterwards; money
recovered is recorded as ``WriteOffRecovery``, apart from repayments.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from applications import rules as app_rules
from applications.models import Loan, Status
from applications.workflow import audit, run_transition
from loancenter import posts as P
from loancenter.lib import versioning
from loancenter.lib.dates import today
from loancenter.lib.errors import Conflict, InvalidState, RuleViolation
from loancenter.lib.money import ZERO
from loancenter.refusals import recorded
from loancenter.rules import check_amount, check_maker_checker, check_past_date, check_transition, require_post
from postloan.models import ACCRUAL_FIELDS, Installment, WriteOff, WriteOffRecovery, accrue_penalties, rate_history

WO = WriteOff
DOCUMENT_CODES = {code for code, _label in WO.LEGAL_DOCUMENTS}


def _lock(write_off_id: int, version: int | None = None) -> tuple[WriteOff, Loan]:
    write_off = WO.objects.select_for_update().get(pk=write_off_id)
    # The version the deciding page showed (rule 22): a compare-and-swap, so a decision taken on a stale page is refused.
    versioning.bump(write_off, expected=version)
    loan = Loan.objects.select_for_update().get(pk=write_off.loan_id)
    write_off.loan = loan
    return write_off, loan


@recorded("write_off_propose", posts=(P.GENERAL,))
def write_off_propose(*, loan_id: int, actor, reason: str, legal_documents: list[str]) -> WriteOff:
    """The general post proposes writing off an active loan, listing the legal documents that support it."""
    with transaction.atomic():
        loan = Loan.objects.select_for_update().get(pk=loan_id)
        app_rules.check_separation(loan, actor, None)
        if loan.status != Status.ACTIVE:
            raise InvalidState(_("Only an active loan can be proposed for write-off (this one is %(s)s).")
                               % {"s": loan.get_status_display()})
        documents = list(dict.fromkeys(legal_documents or []))
        if not documents:
            raise RuleViolation("legal_documents", _("A write-off is proposed with its legal documents (rule 21)."),
                                field="legal_documents")
        unknown = set(documents) - DOCUMENT_CODES
        if unknown:
            raise RuleViolation("legal_documents", _("Unknown legal document(s): %(d)s.") % {"d": ", ".join(sorted(unknown))},
                                field="legal_documents")
        if not (reason or "").strip():
            raise RuleViolation("reason", _("Give the reason for the write-off."), field="reason")
        if WO.objects.filter(loan=loan, status__in=[WO.PROPOSED, WO.REVIEWED, WO.APPROVED, WO.DONE]).exists():
            raise Conflict("write_off_pending", _("A write-off of this loan is already under way."))
        unpaid = list(Installment.objects.filter(loan=loan, paid_off_on__isnull=True))
        on, rates = today(), rate_history(loan)
        write_off = WO.objects.create(
            loan=loan, reason=reason.strip(), legal_documents=documents, proposed_by=actor,
            principal=loan.outstanding_principal, interest=sum((i.interest - i.paid_interest for i in unpaid), ZERO),
            penalty=sum((i.penalty_on(on, rates.penalty_daily_rate(i)) - i.paid_penalty for i in unpaid), ZERO),
        )
        audit(actor=actor, action="write_off_propose", loan=loan, obj=write_off,
              payload={"legal_documents": documents, "principal": write_off.principal}, reason=write_off.reason)
    return write_off


@recorded("write_off_review", loan=("write_off_id", WO), posts=(P.REVIEWER,))
def write_off_review(*, write_off_id: int, actor, note: str = "", version: int | None = None) -> WriteOff:
    """A reviewer, not the proposer, checks the file (审查)."""
    with transaction.atomic():
        write_off, loan = _lock(write_off_id, version)
        check_maker_checker(write_off.proposed_by_id, actor, what=_("proposed this write-off"))
        app_rules.check_separation(loan, actor, None)
        check_transition(write_off.review, _("This write-off is %(s)s, not waiting for review.")
                         % {"s": write_off.get_status_display()})
        write_off.review()
        write_off.reviewed_by, write_off.reviewed_at = actor, timezone.now()
        write_off.review_note = note or ""
        write_off.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
        audit(actor=actor, action="write_off_review", loan=loan, obj=write_off, reason=write_off.review_note)
    return write_off


@recorded("write_off_approve", loan=("write_off_id", WO), posts=(P.MANAGER, P.APPROVER))
def write_off_approve(*, write_off_id: int, actor, note: str = "", version: int | None = None) -> WriteOff:
    """A manager or approver who neither proposed nor reviewed it approves (rule 21: approved by someone else)."""
    with transaction.atomic():
        write_off, loan = _lock(write_off_id, version)
        check_maker_checker(write_off.proposed_by_id, actor, what=_("proposed this write-off"))
        check_maker_checker(write_off.reviewed_by_id, actor, what=_("reviewed this write-off"))
        app_rules.check_separation(loan, actor, None)
        check_transition(write_off.approve, _("A write-off is approved after it is reviewed (this one is %(s)s).")
                         % {"s": write_off.get_status_display()})
        write_off.approve()
        write_off.approved_by, write_off.approved_at = actor, timezone.now()
        write_off.approval_note = note or ""
        write_off.save(update_fields=["status", "approved_by", "approved_at", "approval_note"])
        audit(actor=actor, action="write_off_approve", loan=loan, obj=write_off, reason=write_off.approval_note)
    return write_off


@recorded("write_off_reject", loan=("write_off_id", WO), posts=(P.REVIEWER, P.MANAGER, P.APPROVER))
def write_off_reject(*, write_off_id: int, actor, note: str, version: int | None = None) -> WriteOff:
    """The reviewer (while proposed) or the manager/approver (once reviewed) may turn it down; never the proposer."""
    with transaction.atomic():
        write_off, loan = _lock(write_off_id, version)
        check_maker_checker(write_off.proposed_by_id, actor, what=_("proposed this write-off"))
        check_transition(write_off.reject, _("This write-off is %(s)s and can no longer be rejected.")
                         % {"s": write_off.get_status_display()})
        # The reviewer turns down a proposal, the manager or approver a reviewed one (the model's declaration).
        declared = next(t for t in write_off.get_all_status_transitions()
                        if t.name == "reject" and t.source == write_off.status)
        require_post(actor, *declared.permission.posts)
        if not (note or "").strip():
            raise RuleViolation("note_required", _("Give the reason for rejecting the write-off."), field="note")
        write_off.reject()
        write_off.rejected_by, write_off.rejected_at = actor, timezone.now()
        write_off.approval_note = note.strip()
        write_off.save(update_fields=["status", "rejected_by", "rejected_at", "approval_note"])
        audit(actor=actor, action="write_off_reject", loan=loan, obj=write_off, reason=write_off.approval_note)
    return write_off


def loan_write_off(*, loan_id: int, actor, reason: str) -> Loan:
    """The ``write_off`` transition (SPEC §2): only with an approved write-off; collection continues afterwards."""
    found: dict = {}

    def check(loan: Loan) -> None:
        write_off = WO.objects.select_for_update().filter(loan=loan, status=WO.APPROVED).first()
        if write_off is None:
            raise RuleViolation("write_off_not_approved",
                                _("No approved write-off for this loan: it is proposed, reviewed and approved first (rule 21)."))
        found["write_off"] = write_off

    def apply(loan: Loan) -> None:
        write_off = found["write_off"]
        write_off.complete()
        write_off.written_off_on = today()
        write_off.save(update_fields=["status", "written_off_on"])
        # Penalty stops growing once the loan leaves the active book: write down what it reached today.
        unpaid = list(Installment.objects.select_for_update().filter(loan=loan, paid_off_on__isnull=True))
        accrue_penalties(loan, unpaid, today())
        Installment.objects.bulk_update(unpaid, ACCRUAL_FIELDS)

    return run_transition(loan_id=loan_id, actor=actor, name="write_off", check=check, apply=apply,
                          payload={"reason": reason})


def recovered_total(write_off: WriteOff) -> Decimal:
    return write_off.recoveries.aggregate(s=Sum("amount"))["s"] or ZERO


@recorded("write_off_recovery", posts=(P.GENERAL,))
def recovery_record(*, loan_id: int, actor, amount: Decimal, recovered_on: date, reference: str,
                    note: str = "") -> tuple[WriteOffRecovery, bool]:
    """Record money recovered on a written-off loan; the same reference again returns the first record."""
    reference = (reference or "").strip()
    if not reference:
        raise RuleViolation("reference", _("A recovery carries a reference."), field="reference")
    existing = WriteOffRecovery.objects.filter(reference=reference).first()
    if existing is not None:
        if existing.loan_id != int(loan_id):
            raise Conflict("reference_reused", _("Reference %(ref)s was already used for another loan.") % {"ref": reference})
        return existing, False
    check_amount(amount)
    with transaction.atomic():
        loan = Loan.objects.select_for_update().get(pk=loan_id)
        app_rules.check_separation(loan, actor, None)
        write_off = WO.objects.filter(loan=loan, status=WO.DONE).first()
        if loan.status != Status.WRITTEN_OFF or write_off is None:
            raise InvalidState(_("Recoveries are recorded on written-off loans; repayments of active loans are posted as repayments."))
        check_past_date(recovered_on, field="recovered_on", code="recovered_on", not_before=write_off.written_off_on,
                        not_before_what=_("the write-off"))
        left = write_off.total - recovered_total(write_off)
        if amount > left:
            raise RuleViolation("over_recovery", _("%(a)s exceeds what is left of the amount written off, %(left)s.")
                                % {"a": f"{amount:,.2f}", "left": f"{left:,.2f}"}, field="amount")
        try:
            with transaction.atomic():  # a twin with the same reference may have committed since it was looked for
                recovery = WriteOffRecovery.objects.create(write_off=write_off, loan=loan, amount=amount,
                                                           recovered_on=recovered_on, reference=reference,
                                                           note=note or "", recorded_by=actor)
        except IntegrityError:
            twin = WriteOffRecovery.objects.filter(reference=reference).first()
            if twin is not None and twin.loan_id == loan.pk:
                return twin, False
            raise Conflict("reference_reused", _("Reference %(ref)s was already used for another loan.")
                           % {"ref": reference}) from None
        audit(actor=actor, action="write_off_recovery", loan=loan, obj=recovery,
              payload={"amount": amount, "recovered_on": recovered_on, "reference": reference})
    return recovery, True
