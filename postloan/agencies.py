"""Outsourced collection agencies (SPEC §3 collections, §12 collections strategy): a case assigned to an agency from
the whitelist and recalled, each agency's recoveries, and the monthly agency report; the debtor's stance ("cannot
pay" / "will not pay") with its evidence. See docs/decisions.md, "Collections strategy".

Recoveries are not booked by the agency: they are the loan's own payments (``Repayment``, and ``WriteOffRecovery`` on
a written-off loan) received while the agency held the case — on or after the assignment day and before the recall
day — so they are counted once, by the money the bank received.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from applications import rules as app_rules
from applications.files.models import DocumentFile
from applications.models import Loan
from applications.workflow import audit
from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.lib.errors import Conflict, Forbidden, RuleViolation
from loancenter.lib.money import ZERO
from loancenter.refusals import recorded
from loancenter.rules import check_past_date
from postloan import rules
from postloan.collections import overdue_amounts
from postloan.models import (
    AgencyAssignment,
    CollectionAgency,
    CollectionCase,
    DebtorAssessment,
    Repayment,
    WriteOffRecovery,
)

RECALL_POSTS = (P.GENERAL, P.MANAGER)


@recorded("agency_assign", loan=("case_id", CollectionCase), posts=(P.MARKETING, P.GENERAL))
def agency_assign(*, case_id: int, actor, agency_id: int, assigned_on: date | None = None, until: date | None = None,
                  note: str = "") -> AgencyAssignment:
    """The case's collector hands the case to an active agency of the whitelist; one agency at a time."""
    assigned_on = assigned_on or today()
    with transaction.atomic():
        case = CollectionCase.objects.select_for_update().get(pk=case_id)
        loan = Loan.objects.select_for_update().get(pk=case.loan_id)
        case.loan = loan
        app_rules.check_separation(loan, actor, None)
        rules.check_case_collector(case, actor)
        agency = CollectionAgency.objects.filter(pk=agency_id).first()
        if agency is None or not agency.active:
            raise RuleViolation("agency_not_whitelisted", _("Cases go only to an active agency of the whitelist."),
                                field="agency")
        check_past_date(assigned_on, field="assigned_on", code="assigned_on", not_before=case.opened_on,
                        not_before_what=_("the day the collection case opened"))
        if until is not None and until <= assigned_on:
            raise RuleViolation("until", _("The agreed end comes after the assignment day."), field="until")
        if AgencyAssignment.objects.filter(loan=loan, recalled_on__isnull=True).exists():
            raise Conflict("already_assigned", _("The case is already with an agency; recall it first."))
        overdue = overdue_amounts(loan, assigned_on)["total"]
        try:
            with transaction.atomic():
                assignment = AgencyAssignment.objects.create(
                    case=case, loan=loan, agency=agency, assigned_on=assigned_on, until=until, assigned_by=actor,
                    overdue_at_assignment=overdue, principal_at_assignment=loan.outstanding_principal,
                    note=(note or "").strip())
        except IntegrityError:  # a twin assignment committed since we looked
            raise Conflict("already_assigned", _("The case is already with an agency; recall it first.")) from None
        audit(actor=actor, action="agency_assign", loan=loan, obj=assignment, payload={
            "agency": agency.name, "assigned_on": assigned_on, "until": until, "overdue": overdue})
    return assignment


@recorded("agency_recall", loan=("assignment_id", AgencyAssignment), posts=(P.MARKETING, P.GENERAL, P.MANAGER))
def agency_recall(*, assignment_id: int, actor, reason: str, recalled_on: date | None = None) -> AgencyAssignment:
    """Take the case back from the agency: the case's collector, the general post or the manager, with a reason."""
    recalled_on = recalled_on or today()
    with transaction.atomic():
        assignment = AgencyAssignment.objects.select_for_update().select_related("agency").get(pk=assignment_id)
        loan = Loan.objects.select_for_update().get(pk=assignment.loan_id)
        app_rules.check_separation(loan, actor, None)
        if not actor.has_any_post(*RECALL_POSTS) and loan.marketing_officer_id != actor.pk:
            raise Forbidden("not_case_owner", _("An agency is recalled by the case's collector, the general post or "
                                                "the manager."))
        if assignment.recalled_on is not None:
            raise Conflict("already_recalled", _("This case was already recalled on %(d)s.")
                           % {"d": assignment.recalled_on.isoformat()})
        if not (reason or "").strip():
            raise RuleViolation("reason_required", _("Give the reason for the recall."), field="reason")
        check_past_date(recalled_on, field="recalled_on", code="recalled_on", not_before=assignment.assigned_on,
                        not_before_what=_("the assignment day"))
        assignment.recalled_on, assignment.recalled_by, assignment.recall_reason = recalled_on, actor, reason.strip()
        assignment.save(update_fields=["recalled_on", "recalled_by", "recall_reason"])
        audit(actor=actor, action="agency_recall", loan=loan, obj=assignment, reason=assignment.recall_reason,
              payload={"agency": assignment.agency.name, "recalled_on": recalled_on,
                       "recovered": recovered_by(assignment)})
    return assignment


# ---------------------------------------------------------------------------------------------------------------
# Recoveries


def _between(name: str, start: date, recalled_on: date | None, lo: date | None = None,
             hi: date | None = None) -> dict:
    """Filters on the date field ``name``: on or after ``start`` and before the recall (and within [lo, hi] if given)."""
    found = {f"{name}__gte": max(start, lo) if lo else start}
    if recalled_on is not None:
        found[f"{name}__lt"] = recalled_on
    if hi is not None:
        found[f"{name}__lte"] = hi
    return found


def _recoveries(assignment: AgencyAssignment, lo: date | None = None, hi: date | None = None) -> tuple[int, Decimal]:
    """Payments received on the loan while the agency held it (within [lo, hi] when given): how many, how much."""
    window = (assignment.assigned_on, assignment.recalled_on, lo, hi)
    amounts = [*Repayment.objects.filter(loan_id=assignment.loan_id, **_between("paid_on", *window))
               .values_list("amount", flat=True),
               *WriteOffRecovery.objects.filter(loan_id=assignment.loan_id, **_between("recovered_on", *window))
               .values_list("amount", flat=True)]
    return len(amounts), sum(amounts, ZERO)


def recovered_by(assignment: AgencyAssignment) -> Decimal:
    """What the bank received on the loan while the agency held it."""
    return _recoveries(assignment)[1]


@dataclass
class AgencyLine:
    agency: CollectionAgency
    assigned: int = 0  # assigned during the month
    recalled: int = 0  # recalled during the month
    held: int = 0  # held at the month end
    active: int = 0  # held on at least one day of the month
    overdue_assigned: Decimal = ZERO  # overdue amount taken over, of the assignments held during the month
    payments: int = 0
    recovered: Decimal = ZERO  # received during the month while assigned
    cases: list = field(default_factory=list)

    @property
    def recovery_rate(self) -> Decimal | None:
        return (self.recovered / self.overdue_assigned).quantize(Decimal("0.0001")) if self.overdue_assigned else None


def month_bounds(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def monthly_report(year: int, month: int, *, unit: Q | None = None) -> list[AgencyLine]:
    """Per agency: cases assigned, recalled, held at the month end, and the payments received in the month while the
    agency held the loan (``unit``: a filter on the assignment's loan for a sub-center's staff)."""
    lo, hi = month_bounds(year, month)
    rows = (AgencyAssignment.objects.filter(assigned_on__lte=hi).filter(Q(recalled_on__isnull=True) | Q(recalled_on__gt=lo))
            .select_related("agency", "loan__customer").order_by("agency__name", "assigned_on", "id"))
    if unit is not None:
        rows = rows.filter(unit)
    lines: dict[int, AgencyLine] = {}
    for a in rows:
        line = lines.setdefault(a.agency_id, AgencyLine(a.agency))
        line.active += 1
        line.assigned += lo <= a.assigned_on <= hi
        line.recalled += a.recalled_on is not None and lo <= a.recalled_on <= hi
        line.held += a.recalled_on is None or a.recalled_on > hi
        line.overdue_assigned += a.overdue_at_assignment
        count, amount = _recoveries(a, lo, hi)
        line.payments += count
        line.recovered += amount
        line.cases.append((a, count, amount))
    return sorted(lines.values(), key=lambda x: x.agency.name)


# ---------------------------------------------------------------------------------------------------------------
# The debtor's stance


@recorded("debtor_assess", loan=("case_id", CollectionCase), posts=(P.MARKETING, P.GENERAL))
def debtor_assess(*, case_id: int, actor, stance: str, evidence_id: int | None, note: str) -> DebtorAssessment:
    """The collector marks the debtor "cannot pay" or "will not pay"; the evidence is a live file of the loan's or the
    customer's folder (uploaded through the documents endpoints), and the note says what it shows."""
    if stance not in dict(DebtorAssessment.STANCES):
        raise RuleViolation("stance", _("The debtor either cannot pay or will not pay."), field="stance")
    with transaction.atomic():
        case = CollectionCase.objects.select_for_update().get(pk=case_id)
        loan = Loan.objects.select_for_update().get(pk=case.loan_id)
        case.loan = loan
        app_rules.check_separation(loan, actor, None)
        rules.check_case_collector(case, actor)
        if evidence_id in (None, ""):
            raise RuleViolation("evidence_required", _("Marking a debtor \"cannot pay\" or \"will not pay\" needs the "
                                                       "evidence: upload it to the loan's files and choose it."),
                                field="evidence")
        evidence = (DocumentFile.objects.filter(pk=evidence_id, state=DocumentFile.State.ACTIVE)
                    .filter(Q(loan=loan) | Q(loan__isnull=True, customer_id=loan.customer_id)).first())
        if evidence is None:
            raise RuleViolation("evidence_required", _("The evidence must be a live file of this loan or of the "
                                                       "borrower's folder."), field="evidence")
        if not (note or "").strip():
            raise RuleViolation("note_required", _("Say what the evidence shows."), field="note")
        assessment = DebtorAssessment.objects.create(case=case, loan=loan, stance=stance, evidence=evidence,
                                                     note=note.strip(), assessed_by=actor, assessed_on=today())
        audit(actor=actor, action="debtor_assess", loan=loan, obj=assessment,
              payload={"stance": stance, "evidence": evidence.pk, "evidence_sha256": evidence.sha256},
              reason=assessment.note)
    return assessment


def latest_assessment(case: CollectionCase) -> DebtorAssessment | None:
    return case.assessments.select_related("evidence", "assessed_by").first()
