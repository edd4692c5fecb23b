"""Helpers shared by the origination and approval tests: call a service with a valid input, put a loan in a
state through the real services, and check that a refusal left everything as it was."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from applications.models import STAGE, Investigation, Loan, LoanHandover, Status
from applications.rules import report_awaits_cosignature
from applications.workflow import STEPS, targets
from loancenter.lib.dates import today
from loancenter.lib.errors import DomainError
from loancenter.models import AuditEntry, RefusedAttempt
from loancenter.transitions import REGISTRY
from tests.conftest import ACTORS
from tests.conftest import PATH as FULL_PATH

RATE = Decimal("0.0435")

# Each transition's service and where it leads (the first of its targets), as the loan declares them.
SERVICES = {name: entry.service for name, entry in REGISTRY.items()}
TARGET = {name: targets(step.transitions[0])[0] for name, step in STEPS.items()}


def valid_input(name: str, loan: Loan, actor) -> dict:
    amount, term, method = loan.amount, loan.term_months, loan.repayment_method
    if name == "complete_investigation":
        return {
            "investigators": [actor], "opinion": "recommend", "field_visit_on": today(),
            "identity_verified": True, "income_verified": True, "purpose_verified": True,
            "guarantors_verified": True, "collateral_verified": True,
            "recommended_amount": amount, "recommended_term_months": term, "comment": "收入稳定,用途真实",
        }
    if name == "cosign_investigation":
        return {"agree": True, "comment": "同意调查结论"}
    if name == "pass_review":
        return {"opinion": "资料齐全,合规", "amount": amount, "term_months": term, "annual_rate": RATE,
                "repayment_method": method}
    if name == "approve":
        return {"amount": amount, "term_months": term, "annual_rate": RATE, "repayment_method": method,
                "reason": "同意"}
    if name in ("submit", "start_investigation"):
        return {}
    return {"reason": "理由"}


def call(name: str, loan: Loan, actor, **overrides) -> Loan:
    """Run the service of transition ``name`` on ``loan`` as ``actor`` with a complete, valid input."""
    loan.refresh_from_db()
    args = {**valid_input(name, loan, actor), **overrides}
    return SERVICES[name](loan_id=loan.pk, actor=actor, **args)


# The happy path up to approval and who walks it by default (persona names of tests/conftest.py).
_NAMES = [name for _status, name in FULL_PATH]
PATH = [(name, ACTORS[name]) for name in _NAMES[: _NAMES.index("approve") + 1]]
NEXT = {STEPS[name].sources[0]: i for i, (name, _persona) in enumerate(PATH)}


def advance(loan: Loan, to: str, staff: SimpleNamespace, **actors) -> Loan:
    """Move ``loan`` from where it is to ``to`` through the real services.

    ``actors`` overrides who performs a step (``pass_review=someone``). ``pending_branch_approval``,
    ``rejected`` and ``withdrawn`` are reached by escalating, rejecting or withdrawing at the end.
    """
    endings = {
        Status.PENDING_BRANCH_APPROVAL: (Status.PENDING_APPROVAL, "escalate", "appr"),
        Status.REJECTED: (Status.PENDING_APPROVAL, "reject", "appr"),
        Status.WITHDRAWN: (None, "withdraw", "mkt"),
    }
    final = None
    if to in endings:
        via, final, default_actor = endings[to]
        to = via
    loan.refresh_from_db()
    while to is not None and loan.status != to:
        name, persona = PATH[NEXT[loan.status]]
        if name == "complete_investigation" and report_awaits_cosignature(loan):  # rule 26: the second signs
            name, persona = "cosign_investigation", "inv2"
        call(name, loan, actors.get(name) or getattr(staff, persona))
        loan.refresh_from_db()
    if final:
        call(final, loan, actors.get(final) or getattr(staff, default_actor))
        loan.refresh_from_db()
    return loan


REACHABLE = {Status.DRAFT, *NEXT, Status.APPROVED, Status.PENDING_BRANCH_APPROVAL, Status.REJECTED, Status.WITHDRAWN}


def put_in_state(loan: Loan, status: str, staff: SimpleNamespace) -> Loan:
    """Reach ``status`` through the services where this issue's services lead there; the later states
    (contract, disbursement, servicing) are written directly, after a real approval."""
    if status in REACHABLE:
        return advance(loan, status, staff)
    advance(loan, Status.APPROVED, staff)
    Loan.objects.filter(pk=loan.pk).update(status=status, stage_reached=STAGE[status])
    loan.refresh_from_db()
    return loan


def snapshot(loan: Loan) -> dict:
    """Everything a transition may change: the loan row, its investigations and hand-overs, the audit trail."""
    return {
        "loan": Loan.objects.filter(pk=loan.pk).values().get(),
        "investigations": list(Investigation.objects.filter(loan=loan).order_by("id").values()),
        "investigators": list(Investigation.investigators.through.objects.filter(investigation__loan=loan)
                              .order_by("id").values_list("user_id", flat=True)),
        "handovers": LoanHandover.objects.filter(loan=loan).count(),
        "audit": AuditEntry.objects.count(),
    }


def assert_refused(loan: Loan, error: type[DomainError], fn, *, code: str | None = None,
                   status: int | None = None, recorded: bool = True) -> DomainError:
    """``fn()`` raises ``error`` (with ``code``/``status``), leaves ``loan`` and the audit trail as they were,
    and (for transitions) writes one RefusedAttempt naming the code."""
    before = snapshot(loan)
    refused = RefusedAttempt.objects.count()
    with pytest.raises(error) as exc:
        fn()
    if code is not None:
        assert exc.value.code == code, exc.value.message
    if status is not None:
        assert exc.value.status == status
    assert snapshot(loan) == before
    if recorded:
        assert RefusedAttempt.objects.count() == refused + 1
        attempt = RefusedAttempt.objects.order_by("-id").first()
        assert (attempt.loan_id_ref, attempt.code) == (loan.pk, exc.value.code)
    return exc.value


class Ctx:
    """The personas plus helpers to build extra staff (several posts, staff loans) and loans."""

    def __init__(self, staff: SimpleNamespace, product):
        self.staff = staff
        self.product = product

    def person(self, username: str, *posts: str, limit: Decimal | None = None, id_number: str = ""):
        from loancenter.services import staff_create

        return staff_create(username=username, posts=posts, approval_limit=limit, id_number=id_number,
                            full_name=username)

    def customer(self, **kwargs):
        from tests.factories import CustomerFactory

        return CustomerFactory(officer=self.staff.mkt, **kwargs)

    def loan(self, *, officer=None, customer=None, guarantor=None, product=None, **kwargs) -> Loan:
        from tests.factories import LoanFactory, add_guarantor

        officer = officer or self.staff.mkt
        loan = LoanFactory(customer=customer or self.customer(), product=product or self.product,
                           marketing_officer=officer, **kwargs)
        if guarantor is not None:
            add_guarantor(loan, guarantor)
        return loan

    def advance(self, loan: Loan, to: str, **actors) -> Loan:
        return advance(loan, to, self.staff, **actors)


@pytest.fixture
def ctx(staff, product) -> Ctx:
    return Ctx(staff, product)


def perform_as(ctx: Ctx, name: str, state: str, persona: str) -> AuditEntry:
    """Put a loan in ``state``, let ``persona`` perform ``name``; check the move and its one audit row, return it."""
    loan = put_in_state(ctx.loan(), state, ctx.staff)
    actor = getattr(ctx.staff, persona)
    last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0

    result = call(name, loan, actor)

    loan.refresh_from_db()
    assert result.status == loan.status == TARGET[name]
    # One audit row for the transition (other apps may add their own rows for what the step sets off).
    (entry,) = AuditEntry.objects.filter(id__gt=last, action=name)
    assert (entry.action, entry.actor, entry.loan_id, entry.from_status, entry.to_status) == (
        name, actor, loan.pk, state, TARGET[name]
    )
    return entry
