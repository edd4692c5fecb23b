"""The transition machinery every loan operation runs through (SPEC §2).

The lifecycle is declared once, on ``applications.models.Loan`` (its ``@transition`` methods: source, target,
``permission``, ``conditions`` and ``custom``). Everything else reads it from there: ``STEPS`` below, the
transition registry (``loancenter.transitions.REGISTRY``), the work queues (``applications.selectors``), the
buttons of the loan page and ``available_transitions``, the README's diagram (``manage.py lifecycle_diagram``).

``run_transition`` is the one place that locks the loan row, checks post, state and separation of duty, calls the
``django_fsm`` transition, and writes the audit row. Each service in ``services.py`` (and in the later apps) is a
thin function that supplies its own rule checks and field updates.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _
from django_fsm import RETURN_VALUE, Transition, can_proceed

from applications import rules
from applications.models import Loan, Status
from loancenter import posts as P
from loancenter.audit_trail import audit, jsonable  # noqa: F401  (services import them from here too)
from loancenter.lib.errors import DomainError, Forbidden, InvalidState
from loancenter.models import AuditEntry
from loancenter.refusals import record_refusal, recording
from loancenter.rules import require_post

__all__ = ["record_refusal"]  # kept here for callers written before the kernel's decorator (loancenter.refusals)

STATUS_FIELD = Loan._meta.get_field("status")


def declared_transitions() -> list[Transition]:
    """Every (transition, source state) declared on ``Loan``, in the order the model declares them."""
    return sorted(STATUS_FIELD.get_all_transitions(Loan),
                  key=lambda t: (inspect.unwrap(t.method).__code__.co_firstlineno, list(Status).index(t.source)))


def targets(transition: Transition) -> tuple[str, ...]:
    """The states a transition may lead to (one, or those its method may return)."""
    if isinstance(transition.target, RETURN_VALUE):
        return tuple(transition.target.allowed_states)
    return (transition.target,)


@dataclass(frozen=True)
class Step:
    """A transition by name, as the loan's declarations give it: one ``django_fsm.Transition`` per source state."""

    name: str
    transitions: tuple[Transition, ...]

    @property
    def custom(self) -> dict:
        return self.transitions[0].custom

    @property
    def label(self):
        return self.custom["label"]

    @property
    def danger(self) -> bool:
        return self.custom["danger"]

    @property
    def owner_only(self) -> bool:
        return self.custom["owner_only"]

    @property
    def posts(self) -> tuple[str, ...]:
        """Every post that may perform it from some state (asked first: 403 whatever the loan's state)."""
        return tuple(dict.fromkeys(p for t in self.transitions for p in t.permission.posts))

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(t.source for t in self.transitions)

    def at(self, status: str) -> Transition | None:
        return next((t for t in self.transitions if t.source == status), None)


def _steps() -> dict[str, Step]:
    by_name: dict[str, list[Transition]] = {}
    for transition in declared_transitions():
        by_name.setdefault(transition.name, []).append(transition)
    return {name: Step(name, tuple(group)) for name, group in by_name.items()}


STEPS: dict[str, Step] = _steps()


def posts_for(step: Step, loan: Loan) -> tuple[str, ...]:
    """The posts that decide ``step`` in the loan's state (escalated loans: the branch, SPEC §2)."""
    transition = step.at(loan.status)
    return transition.permission.posts if transition is not None else step.posts


def roles_for(step: Step, loan: Loan) -> str | tuple[str, ...] | None:
    transition = step.at(loan.status)
    return (transition or step.transitions[0]).custom["sod_role"]


def _unmet_condition(loan: Loan, step: Step) -> str | None:
    """Why a transition the state allows is not possible now: the refusal declared beside its conditions."""
    transition = step.at(loan.status)
    refusal = transition.custom.get("refusal") if transition is not None else None
    return str(refusal(loan)) if refusal is not None else None


def check_actor(loan: Loan, user, step: Step, *, facts: dict[str, bool] | None = None) -> None:
    """Post (403), state (409), ownership (403), separation of duty (403 ``separation_of_duty``), assignment (403)."""
    require_post(user, *step.posts)
    transition = getattr(loan, step.name)
    if not can_proceed(transition):
        unmet = _unmet_condition(loan, step) if can_proceed(transition, check_conditions=False) else None
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
    assigned = step.at(loan.status).custom["assigned"]
    if assigned is not None:
        assigned(loan, user)


def available_transitions(loan: Loan, user) -> list[str]:
    """The transitions ``user`` may attempt on ``loan`` now (business rules are checked when attempted): those
    django-fsm offers the user (state, conditions, ``permission``), less those the checks above refuse."""
    names = []
    facts = None  # the separation-of-duty facts: one query for all of the loan's transitions
    for transition in loan.get_available_user_status_transitions(user):
        step = STEPS[transition.name]
        if facts is None:
            facts = rules.role_facts(loan, user) if loan.pk and user.pk else {}
        try:
            check_actor(loan, user, step, facts=facts)
        except DomainError:
            continue
        names.append(step.name)
    return names


def held_back(loan: Loan, user) -> list[str]:
    """Why ``user`` may do nothing on ``loan`` although one of their posts acts in its state (issue 15, part 8): the
    refusal ``check_actor`` gives for each transition the loan declares from its state whose ``permission`` the user
    holds (separation of duty, ownership, assignment, an unmet condition), each message once. Empty when no post of
    theirs acts now: then there is simply nothing for them to do."""
    reasons: list[str] = []
    facts = None
    for transition in declared_transitions():
        if transition.source != loan.status or not transition.has_perm(loan, user):
            continue
        if facts is None:
            facts = rules.role_facts(loan, user) if loan.pk and user.pk else {}
        try:
            check_actor(loan, user, STEPS[transition.name], facts=facts)
        except DomainError as error:
            if error.message not in reasons:
                reasons.append(error.message)
    return reasons


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
