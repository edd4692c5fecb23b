"""Manual five-level grade changes (SPEC §6).

To a worse grade: applied at once with reasons; it becomes the loan's manual floor (``Loan.manual_grade``) that the
nightly batch keeps. To a better grade: a request that a second person (manager or reviewer, not the proposer)
approves; on approval the manual floor is lowered to the new grade (cleared when it is 正常) and the grade is set
directly — never better than the days-past-due floor or the restructuring observation floor, and a loan that is
non-performing because of its arrears goes back to performing only by the upgrade rule (see ``postloan.rules``).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from applications import rules as app_rules
from applications.models import Loan, Status
from applications.workflow import audit
from loancenter import posts as P
from loancenter.lib import versioning
from loancenter.lib.dates import today
from loancenter.lib.errors import Conflict, InvalidState, RuleViolation
from loancenter.refusals import recorded
from loancenter.rules import check_maker_checker, check_transition
from postloan import rules
from postloan.models import GRADES, GradeChange
from postloan.services import reprovision

PROPOSER_POSTS = (P.REVIEWER, P.GENERAL, P.MANAGER)
APPROVER_POSTS = (P.MANAGER, P.REVIEWER)


@recorded("grade_change", posts=PROPOSER_POSTS)
def grade_change_propose(*, loan_id: int, actor, to_grade: str, reasons: str) -> GradeChange:
    if to_grade not in GRADES:
        raise RuleViolation("to_grade", _("Unknown grade."), field="to_grade")
    with transaction.atomic():
        loan = Loan.objects.select_for_update().get(pk=loan_id)
        app_rules.check_separation(loan, actor, None)
        if loan.status != Status.ACTIVE:
            raise InvalidState(_("Grades are changed on active loans (this one is %(s)s).") % {"s": loan.get_status_display()})
        current = loan.grade or "normal"
        change = GradeChange(loan=loan, from_grade=current, to_grade=to_grade, reasons=(reasons or "").strip(), proposed_by=actor)
        if rules.rank(to_grade) > rules.rank(current):
            rules.check_downgrade(current=current, target=to_grade, reasons=change.reasons)
            loan.manual_grade = rules.worse(loan.manual_grade or "normal", to_grade)
            loan.grade = to_grade
            reprovision(loan)
            loan.save(update_fields=["manual_grade", "grade", "provision"])
            change.apply()
            change.decided_at = timezone.now()
            change.save()
            audit(actor=actor, action="grade_downgrade", loan=loan, obj=change,
                  payload={"from": current, "to": to_grade}, reason=change.reasons)
            return change
        rules.check_upgrade(loan, target=to_grade, reasons=change.reasons, on=today())
        if GradeChange.objects.filter(loan=loan, status=GradeChange.PENDING).exists():
            raise Conflict("grade_change_pending", _("A grade change of this loan is already waiting for approval."))
        change.save()
        audit(actor=actor, action="grade_upgrade_propose", loan=loan, obj=change,
              payload={"from": current, "to": to_grade}, reason=change.reasons)
    return change


def _lock(change_id: int, version: int | None = None) -> tuple[GradeChange, Loan]:
    change = GradeChange.objects.select_for_update().get(pk=change_id)
    # The version the deciding page showed (rule 22): a compare-and-swap, so a decision taken on a stale page is refused.
    versioning.bump(change, expected=version)
    loan = Loan.objects.select_for_update().get(pk=change.loan_id)
    change.loan = loan
    return change, loan


def _check_decider(change: GradeChange, loan: Loan, actor, decision) -> None:
    """``decision``: the change's transition the second person takes (``change.apply`` or ``change.reject``)."""
    check_maker_checker(change.proposed_by_id, actor, what=_("proposed this grade change"))
    app_rules.check_separation(loan, actor, None)
    check_transition(decision, _("This grade change is already %(s)s.") % {"s": change.get_status_display()})


@recorded("grade_change_approve", loan=("change_id", GradeChange), posts=APPROVER_POSTS)
def grade_change_approve(*, change_id: int, actor, note: str = "", version: int | None = None) -> GradeChange:
    with transaction.atomic():
        change, loan = _lock(change_id, version)
        _check_decider(change, loan, actor, change.apply)
        if loan.status != Status.ACTIVE:
            raise InvalidState(_("The loan is no longer active (%(s)s).") % {"s": loan.get_status_display()})
        rules.check_upgrade(loan, target=change.to_grade, reasons=change.reasons, on=today())  # still true today?
        before = loan.grade
        loan.manual_grade = "" if change.to_grade == "normal" else change.to_grade
        loan.grade = change.to_grade
        if rules.rank(change.to_grade) < 2:
            loan.npl_cure_start = None  # performing again: no upgrade-rule hold left to track
        reprovision(loan)
        loan.save(update_fields=["manual_grade", "grade", "npl_cure_start", "provision"])
        change.apply()
        change.decided_by, change.decided_at, change.decision_note = actor, timezone.now(), note or ""
        change.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit(actor=actor, action="grade_upgrade_approve", loan=loan, obj=change,
              payload={"from": before, "to": change.to_grade}, reason=change.decision_note)
    return change


@recorded("grade_change_reject", loan=("change_id", GradeChange), posts=APPROVER_POSTS)
def grade_change_reject(*, change_id: int, actor, note: str, version: int | None = None) -> GradeChange:
    with transaction.atomic():
        change, loan = _lock(change_id, version)
        _check_decider(change, loan, actor, change.reject)
        if not (note or "").strip():
            raise RuleViolation("note_required", _("Give the reason for rejecting the change."), field="note")
        change.reject()
        change.decided_by, change.decided_at, change.decision_note = actor, timezone.now(), note.strip()
        change.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit(actor=actor, action="grade_upgrade_reject", loan=loan, obj=change, reason=change.decision_note)
    return change
