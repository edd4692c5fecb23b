"""The transition machinery every loan operation runs through (SPEC §2).

``run_transition`` is the one place that locks the loan row, checks post, state and separation of
duty, calls the ``django_fsm`` transition, and writes the audit row. Each service in ``services.py``
(and in the later apps) is a thin function that supplies its own rule checks and field updates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import can_proceed

from applications import rules
from applications.models import Loan, Status
from loancenter import posts as P
from loancenter.audit_trail import audit, jsonable  # noqa: F401  (services import them from here too)
from loancenter.lib.errors import DomainError, Forbidden, InvalidState
from loancenter.models import AuditEntry
from loancenter.refusals import record_refusal, recording
from loancenter.rules import require_post

__all__ = ["record_refusal"]  # kept here for callers written before the kernel's decorator (loancenter.refusals)


@dataclass(frozen=True)
class Step:
    name: str
    label: Any
    posts: tuple[str, ...]
    role: str | tuple[str, ...] | None  # the SoD role(s) the actor takes on the loan (applications.rules)
    owner_only: bool = False  # only the loan's own marketing officer (a manager may act on any, where listed)
    danger: bool = False  # shown as a red button in the browser
    assigned: Callable[[Loan, Any], None] | None = None  # refuses (403 not_assigned) those the step is not given to


STEPS: dict[str, Step] = {
    s.name: s
    for s in [
        Step("submit", gettext_lazy("Submit"), (P.MARKETING,), rules.MARKETING, owner_only=True),
        Step("start_investigation", gettext_lazy("Start investigation"), (P.INVESTIGATOR,), rules.INVESTIGATOR),
        Step("complete_investigation", gettext_lazy("Complete investigation"), (P.INVESTIGATOR,), rules.INVESTIGATOR,
             assigned=rules.check_investigation_assignee),
        Step("cosign_investigation", gettext_lazy("Co-sign investigation"), (P.INVESTIGATOR,), rules.INVESTIGATOR,
             assigned=rules.check_cosigner),
        Step("pass_review", gettext_lazy("Pass review"), (P.REVIEWER,), rules.REVIEWER),
        Step("return_to_marketing", gettext_lazy("Return to marketing"), (P.REVIEWER,), rules.REVIEWER, danger=True),
        Step("approve", gettext_lazy("Approve"), (P.APPROVER, P.BRANCH_APPROVER), rules.APPROVER),
        Step("reject", gettext_lazy("Reject"), (P.APPROVER, P.BRANCH_APPROVER), rules.APPROVER, danger=True),
        Step("return_to_review", gettext_lazy("Return to review"), (P.APPROVER,), rules.APPROVER, danger=True),
        Step("escalate", gettext_lazy("Escalate to branch"), (P.APPROVER,), rules.APPROVER),
        Step("sign_contract", gettext_lazy("Record contract signing"), (P.MARKETING,), rules.MARKETING, owner_only=True),
        Step("register_collateral", gettext_lazy("Register collateral"), (P.MORTGAGE_CLERK,), rules.REGISTRAR),
        Step("prepare_receipt", gettext_lazy("Prepare loan receipt"), (P.REVIEWER,),
             (rules.REVIEWER, rules.RECEIPT_PREPARER)),
        Step("disburse", gettext_lazy("Disburse"), (P.DISBURSEMENT,), rules.DISBURSER),
        Step("settle", gettext_lazy("Settle"), (P.GENERAL, P.DISBURSEMENT), None),
        Step("write_off", gettext_lazy("Write off"), (P.GENERAL,), None, danger=True),
        Step("withdraw", gettext_lazy("Withdraw"), (P.MARKETING, P.MANAGER), None, owner_only=True, danger=True),
    ]
}

# Where the deciding post depends on the state: escalated loans are decided by the branch (SPEC §2).
_STATE_POSTS = {
    ("approve", Status.PENDING_APPROVAL): (P.APPROVER,),
    ("reject", Status.PENDING_APPROVAL): (P.APPROVER,),
    ("approve", Status.PENDING_BRANCH_APPROVAL): (P.BRANCH_APPROVER,),
    ("reject", Status.PENDING_BRANCH_APPROVAL): (P.BRANCH_APPROVER,),
}


# Where the role taken depends on the state (SPEC §10, SoD additions): a decision at branch level also makes its
# maker the branch-level decision maker, whom rules.CONFLICTS keeps apart from the approver who escalated the loan.
_STATE_ROLES = {
    ("approve", Status.PENDING_BRANCH_APPROVAL): (rules.APPROVER, rules.BRANCH_APPROVER),
    ("reject", Status.PENDING_BRANCH_APPROVAL): (rules.APPROVER, rules.BRANCH_APPROVER),
}


def posts_for(step: Step, loan: Loan) -> tuple[str, ...]:
    return _STATE_POSTS.get((step.name, loan.status), step.posts)


def roles_for(step: Step, loan: Loan) -> str | tuple[str, ...] | None:
    return _STATE_ROLES.get((step.name, loan.status), step.role)


def _unmet_condition(loan: Loan, name: str) -> str | None:
    """Why a transition the state allows is not possible now: the refusal declared beside its conditions on the
    model (``custom={"refusal": …}``)."""
    for transition in loan.get_all_status_transitions():
        if transition.name == name and transition.source == loan.status:
            refusal = transition.custom.get("refusal")
            return str(refusal(loan)) if refusal is not None else None
    return None


def check_actor(loan: Loan, user, step: Step, *, facts: dict[str, bool] | None = None) -> None:
    """Post (403), state (409), ownership (403), separation of duty (403 ``separation_of_duty``), assignment (403)."""
    require_post(user, *step.posts)
    transition = getattr(loan, step.name)
    if not can_proceed(transition):
        unmet = _unmet_condition(loan, step.name) if can_proceed(transition, check_conditions=False) else None
        raise InvalidState(
            unmet or _("“%(action)s” is not possible while the loan is %(status)s.")
            % {"action": step.label, "status": loan.get_status_display()}
        )
    require_post(user, *posts_for(step, loan))
    if step.owner_only and loan.marketing_officer_id != user.pk and not (
        P.MANAGER in step.posts and user.has_post(P.MANAGER)
    ):
        raise Forbidden("not_owner", _("Only the loan's own marketing officer may do this."))
    rules.check_separation(loan, user, roles_for(step, loan), facts=facts)
    if step.assigned is not None:
        step.assigned(loan, user)


def available_transitions(loan: Loan, user) -> list[str]:
    """The transitions ``user`` may attempt on ``loan`` now (business rules are checked when attempted)."""
    names = []
    facts = None  # the separation-of-duty facts: one query for all of the loan's transitions
    for transition in loan.get_available_status_transitions():
        step = STEPS[transition.name]
        if facts is None and user.has_any_post(*step.posts):
            facts = rules.role_facts(loan, user) if loan.pk and user.pk else {}
        try:
            check_actor(loan, user, step, facts=facts)
        except DomainError:
            continue
        names.append(step.name)
    return names


def run_transition(
    *,
    loan_id: int,
    actor,
    name: str,
    payload: dict | None = None,
    check: Callable[[Loan], None] | None = None,
    apply: Callable[[Loan], None] | None = None,
    transition_kwargs: dict | None = None,
) -> Loan:
    """Lock the loan, check, transition, save, audit — in one transaction; a refusal changes nothing.

    ``transition_kwargs`` go to the model's transition method when its target depends on them (``cosign_investigation``
    moves on only if the second investigator agrees).
    """
    step = STEPS[name]
    payload = payload or {}
    with recording(name, actor=actor, loan_id=loan_id):  # a refusal is recorded after the rollback
        with transaction.atomic():
            loan = Loan.objects.select_for_update().get(pk=loan_id)
            check_actor(loan, actor, step)
            if check is not None:
                check(loan)
            from_status = loan.status
            getattr(loan, name)(**(transition_kwargs or {}))
            loan._moved()
            if apply is not None:
                apply(loan)
            loan.save()
            AuditEntry.objects.create(
                actor=actor, action=name, loan=loan, from_status=from_status, to_status=loan.status,
                payload=jsonable(payload), reason=str(payload.get("reason", "")),
            )
    return loan


def perform_step(name: str, input_class, service: Callable[..., Loan], *, loan_id: int, actor, data) -> Loan:
    """One transition as a surface asks for it: the caller's post first (403 whatever ``data`` holds, SPEC §16.2),
    then ``data`` through ``input_class`` (``serializers.ValidationError`` → 400 / form errors), then ``service``;
    a refusal is recorded with the loan. ``loancenter.transitions.perform`` calls it with the registry's entry."""
    with recording(name, actor=actor, loan_id=loan_id):
        require_post(actor, *STEPS[name].posts)
        parsed = input_class(data=data)
        parsed.is_valid(raise_exception=True)
        return service(loan_id=loan_id, actor=actor, **parsed.validated_data)
