"""Collections (合规催收, SPEC §3 and §6): the action log with its compliance rules, escalation tasks, agencies, queues."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import DecimalField, F, OuterRef, Prefetch, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from applications import rules as app_rules
from applications.models import Loan
from applications.selectors import unit_scope
from applications.workflow import audit
from loancenter import posts as P
from loancenter.lib.errors import RuleViolation
from loancenter.lib.money import ZERO
from loancenter.refusals import recorded
from loancenter.rules import check_past_date
from postloan import rules
from postloan.book import penalty_on_sql
from postloan.models import (
    AgencyAssignment,
    CollectionAction,
    CollectionAgency,
    CollectionCase,
    EscalationTask,
    Installment,
    rate_history,
)


@recorded("collection_action", loan=("case_id", CollectionCase), posts=(P.MARKETING, P.GENERAL))
def collection_action_log(
    *,
    case_id: int,
    actor,
    channel: str,
    contacted_at: datetime,
    target: str,
    phone: str = "",
    guarantor=None,
    agency: CollectionAgency | None = None,
    answered: bool = False,
    result: str = "",
    promise_date: date | None = None,
    promise_amount: Decimal | None = None,
) -> CollectionAction:
    """Log one contact after checking every compliance rule; a refusal writes nothing."""
    if timezone.is_naive(contacted_at):
        contacted_at = timezone.make_aware(contacted_at)
    phone = (phone or "").strip()
    with transaction.atomic():
        case = CollectionCase.objects.select_related("loan__customer").get(pk=case_id)
        loan = Loan.objects.select_for_update().select_related("customer").get(pk=case.loan_id)
        case.loan = loan
        app_rules.check_separation(loan, actor, None)  # never on one's own loan
        rules.check_case_collector(case, actor)
        rules.check_not_in_future(contacted_at)
        check_past_date(timezone.localtime(contacted_at).date(), field="contacted_at", code="contacted_at")
        rules.check_contact_hours(contacted_at)
        guarantors = list(loan.guarantors.select_related("customer"))
        rules.check_contact_target(loan=loan, channel=channel, target=target, phone=phone, guarantor=guarantor,
                                   agency=agency, guarantors=guarantors)
        day = timezone.localtime(contacted_at).date()
        if channel == "phone":
            unanswered = CollectionAction.objects.filter(phone=phone, contact_day=day, channel="phone", answered=False).count()
            rules.check_unanswered_calls(phone=phone, unanswered_today=unanswered)
        rules.check_promise(promise_date=promise_date, promise_amount=promise_amount, contact_day=day)
        action = CollectionAction.objects.create(
            case=case, loan=loan, actor=actor, channel=channel, contacted_at=contacted_at, contact_day=day, target=target,
            guarantor=guarantor if target == "guarantor" else None, agency=agency if target == "agency" else None,
            phone=phone, answered=answered, result=result, promise_date=promise_date, promise_amount=promise_amount,
        )
        audit(actor=actor, action="collection_action", loan=loan, obj=action, payload={
            "channel": channel, "target": target, "contacted_at": contacted_at, "answered": answered,
            "promise_date": promise_date, "promise_amount": promise_amount,
        })
    return action


@recorded("escalation_task_done", loan=("task_id", EscalationTask), posts=(P.GENERAL,))
def escalation_task_done(*, task_id: int, actor, note: str) -> EscalationTask:
    """The general post marks an escalation task (insurance claim, legal action, guarantor demand…) done, with a note."""
    with transaction.atomic():
        task = EscalationTask.objects.select_for_update().select_related("loan").get(pk=task_id)
        app_rules.check_separation(task.loan, actor, None)
        if task.done_on is not None:
            raise RuleViolation("task_done", _("This task was already marked done on %(d)s.") % {"d": task.done_on.isoformat()})
        if not (note or "").strip():
            raise RuleViolation("note_required", _("Say what was done in the note."), field="note")
        task.done_on, task.done_by, task.note = timezone.localdate(), actor, note.strip()
        task.save(update_fields=["done_on", "done_by", "note"])
        audit(actor=actor, action="escalation_task_done", loan=task.loan, obj=task, payload={"kind": task.kind, "note": task.note})
    return task


@recorded("collection_agency_save", posts=(P.GENERAL, P.MANAGER))
def agency_save(*, actor, name: str, licence_no: str = "", phone: str = "", active: bool = True,
                agency_id: int | None = None) -> CollectionAgency:
    """The general post and the manager keep the whitelist of outsourced collection agencies."""
    with transaction.atomic():
        agency = CollectionAgency.objects.select_for_update().get(pk=agency_id) if agency_id else CollectionAgency()
        new = {"name": name.strip(), "licence_no": licence_no, "phone": phone, "active": active}
        changed = [k for k, v in new.items() if getattr(agency, k) != v] if agency_id else list(new)
        if not changed:
            return agency  # an unchanged save changes nothing and writes no audit row (rule 22)
        old = {k: getattr(agency, k) for k in changed} if agency_id else {}
        if agency_id and "active" in changed and not active:
            # Agencies only from the whitelist (SPEC §3): one that leaves it gives its cases back first.
            held = AgencyAssignment.objects.filter(agency=agency, recalled_on__isnull=True).count()
            if held:
                raise RuleViolation("agency_holds_cases", _("%(name)s still holds %(n)s case(s); recall them before "
                                                            "taking it off the whitelist.") % {"name": agency.name, "n": held})
        for key in changed:
            setattr(agency, key, new[key])
        agency.full_clean()
        agency.save()
        audit(actor=actor, action="collection_agency_save", obj=agency, payload={
            "old": old, "new": {k: new[k] for k in changed}, "name": agency.name, "active": agency.active})
    return agency


# ---------------------------------------------------------------------------------------------------------------
# Selectors


def overdue_installments(loan: Loan, as_of: date) -> list[Installment]:
    """The installments due before ``as_of`` and not paid off, each with ``current_penalty`` accrued up to ``as_of``."""
    installments = list(loan.installments.filter(paid_off_on__isnull=True, due_date__lt=as_of).order_by("number"))
    rates = rate_history(loan) if installments and loan.status == "active" else None
    for inst in installments:
        inst.current_penalty = inst.penalty_on(as_of, rates.penalty_daily_rate(inst) if rates else None)
    return installments


def overdue_amounts(loan: Loan, as_of: date | None = None) -> dict[str, Decimal]:
    """Unpaid principal, interest and penalty of the installments due before ``as_of`` (today)."""
    due = overdue_installments(loan, as_of or timezone.localdate())
    amounts = {
        "principal": sum((i.principal - i.paid_principal for i in due), ZERO),
        "interest": sum((i.interest - i.paid_interest for i in due), ZERO),
        "penalty": sum((i.current_penalty - i.paid_penalty for i in due), ZERO),
    }
    amounts["total"] = sum(amounts.values(), ZERO)
    return amounts


def _with_queue_columns(cases: QuerySet[CollectionCase]) -> QuerySet[CollectionCase]:
    today = timezone.localdate()
    overdue = (
        Installment.objects.filter(loan=OuterRef("loan_id"), paid_off_on__isnull=True, due_date__lt=today)
        .values("loan").annotate(s=Sum(F("principal") - F("paid_principal") + F("interest") - F("paid_interest")
                                       + penalty_on_sql(today) - F("paid_penalty"))).values("s")
    )
    last = CollectionAction.objects.filter(case=OuterRef("pk")).order_by("-contacted_at", "-id")
    return (
        cases.select_related("loan__customer", "loan__product", "loan__marketing_officer", "owner")
        .annotate(
            amount_overdue=Coalesce(Subquery(overdue, output_field=DecimalField(max_digits=14, decimal_places=2)), ZERO,
                                    output_field=DecimalField(max_digits=14, decimal_places=2)),
            last_action_at=Subquery(last.values("contacted_at")[:1]),
            last_action_channel=Subquery(last.values("channel")[:1]),
            last_action_result=Subquery(last.values("result")[:1]),
        )
        .prefetch_related(Prefetch("tasks", queryset=EscalationTask.objects.order_by("created_on", "id")))
        .order_by(F("loan__oldest_unpaid_due").asc(nulls_last=True), "id")  # most days past due first
    )


def collection_queue(user) -> QuerySet[CollectionCase]:
    """Marketing: their own T1 cases; general: T2/T3 cases with their escalation tasks; manager: every open case."""
    open_cases = CollectionCase.objects.filter(closed_on__isnull=True)
    unit = unit_scope(user, "loan__")  # a sub-center's staff: their unit's cases (SPEC §16.26)
    if unit is not None:
        open_cases = open_cases.filter(unit)
    if user.has_any_post(P.GENERAL, P.MANAGER):
        if user.has_post(P.MANAGER):
            return _with_queue_columns(open_cases)
        mine = open_cases.filter(owner_post=P.GENERAL)
        if user.has_post(P.MARKETING):
            mine = mine | open_cases.filter(owner_post=P.MARKETING, loan__marketing_officer=user)
        return _with_queue_columns(mine)
    if user.has_post(P.MARKETING):
        return _with_queue_columns(open_cases.filter(owner_post=P.MARKETING, loan__marketing_officer=user))
    return _with_queue_columns(open_cases.none())
