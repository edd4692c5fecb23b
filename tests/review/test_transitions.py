"""Review and approval transitions (SPEC §2, §4): pass_review, return_to_marketing, approve, reject,
return_to_review, escalate, and the branch's approve/reject — right post, wrong posts, separation of duty,
wrong states, and that a refusal changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from applications.models import Status
from loancenter.lib.errors import Forbidden, InvalidState, RuleViolation, SeparationOfDuty
from loancenter.models import RefusedAttempt
from tests.applications.support import RATE, assert_refused, call, perform_as, put_in_state
from tests.conftest import PERSONAS

LIMIT = Decimal("200000.00")

# (transition, the state it starts from, the personas whose post allows it there)
CASES = [
    ("pass_review", Status.UNDER_REVIEW, {"rev"}),
    ("return_to_marketing", Status.UNDER_REVIEW, {"rev"}),
    ("approve", Status.PENDING_APPROVAL, {"appr"}),
    ("reject", Status.PENDING_APPROVAL, {"appr"}),
    ("return_to_review", Status.PENDING_APPROVAL, {"appr"}),
    ("escalate", Status.PENDING_APPROVAL, {"appr"}),
    ("approve", Status.PENDING_BRANCH_APPROVAL, {"branch"}),
    ("reject", Status.PENDING_BRANCH_APPROVAL, {"branch"}),
]

# SPEC §2: the states each transition leaves from.
SOURCES = {
    "pass_review": {Status.UNDER_REVIEW},
    "return_to_marketing": {Status.UNDER_REVIEW},
    "approve": {Status.PENDING_APPROVAL, Status.PENDING_BRANCH_APPROVAL},
    "reject": {Status.PENDING_APPROVAL, Status.PENDING_BRANCH_APPROVAL},
    "return_to_review": {Status.PENDING_APPROVAL},
    "escalate": {Status.PENDING_APPROVAL},
}
RIGHT_ACTOR = {"pass_review": "rev", "return_to_marketing": "rev", "approve": "appr", "reject": "appr",
               "return_to_review": "appr", "escalate": "appr"}


@pytest.mark.parametrize(
    "name, state, persona",
    [(n, s, p) for n, s, right in CASES for p in sorted(right)],
)
def test_right_post_performs_the_transition(ctx, name, state, persona):
    entry = perform_as(ctx, name, state, persona)
    if name not in ("pass_review", "approve"):
        assert entry.reason == "理由"
    assert not RefusedAttempt.objects.exists()


@pytest.mark.parametrize(
    "name, state, persona",
    [(n, s, p) for n, s, right in CASES for p in PERSONAS if p not in right],
)
def test_wrong_post_is_forbidden_and_nothing_changes(ctx, name, state, persona):
    loan = put_in_state(ctx.loan(), state, ctx.staff)
    actor = getattr(ctx.staff, persona)
    assert_refused(loan, Forbidden, lambda: call(name, loan, actor), code="post_required", status=403)


@pytest.mark.parametrize(
    "name, state",
    [(n, s) for n in SOURCES for s in Status.values if s not in SOURCES[n]],
)
def test_wrong_state_is_refused_with_409_and_nothing_changes(ctx, name, state):
    loan = put_in_state(ctx.loan(), state, ctx.staff)
    actor = getattr(ctx.staff, RIGHT_ACTOR[name])
    assert_refused(loan, InvalidState, lambda: call(name, loan, actor), code="invalid_state", status=409)


# --- Separation of duty (SPEC §4) -------------------------------------------------------------------------------
# Each builder gets the post the trying person needs at this step and returns (loan, that person).


def marketing_officer(ctx, state, post):
    officer = ctx.person("mktx", "marketing", post, limit=LIMIT)
    loan = ctx.loan(officer=officer)
    return ctx.advance(loan, state, submit=officer), officer


def investigator(ctx, state, post):
    person = ctx.person("invx", "investigator", post, limit=LIMIT)
    loan = ctx.advance(ctx.loan(), state, start_investigation=person, complete_investigation=person)
    return loan, person


def co_investigator(ctx, state, post):
    """Named second on a dual investigation someone else led."""
    person = ctx.person("invx", "investigator", post, limit=LIMIT)
    loan = ctx.loan()
    ctx.advance(loan, Status.INVESTIGATING)
    call("complete_investigation", loan, ctx.staff.inv, investigators=[ctx.staff.inv, person])
    return ctx.advance(loan, state), person


def reviewer(ctx, state, post):
    person = ctx.person("revx", "reviewer", post, limit=LIMIT)
    return ctx.advance(ctx.loan(), state, pass_review=person), person


def reviewer_who_returned_it(ctx, state, post):
    person = ctx.person("revx", "reviewer", post, limit=LIMIT)
    loan = ctx.advance(ctx.loan(), Status.UNDER_REVIEW)
    call("return_to_marketing", loan, person)
    return ctx.advance(loan, state), person


def approver_who_returned_it(ctx, state, post):
    person = ctx.person("apprx", "approver", post, limit=LIMIT)
    loan = ctx.advance(ctx.loan(), Status.PENDING_APPROVAL)
    call("return_to_review", loan, person)
    return ctx.advance(loan, state), person


def borrower(ctx, state, post):
    customer = ctx.customer()
    person = ctx.person("borx", post, limit=LIMIT, id_number=customer.id_number)
    return ctx.advance(ctx.loan(customer=customer), state), person


def guarantor(ctx, state, post):
    customer = ctx.customer()
    person = ctx.person("guarx", post, limit=LIMIT, id_number=customer.id_number)
    return ctx.advance(ctx.loan(guarantor=customer), state), person


REVIEW_STEPS = [("pass_review", Status.UNDER_REVIEW), ("return_to_marketing", Status.UNDER_REVIEW)]
APPROVER_STEPS = [(n, Status.PENDING_APPROVAL) for n in ("approve", "reject", "return_to_review", "escalate")]
BRANCH_STEPS = [(n, Status.PENDING_BRANCH_APPROVAL) for n in ("approve", "reject")]

SOD_CASES = (
    [(n, s, "reviewer", b) for n, s in REVIEW_STEPS
     for b in (marketing_officer, investigator, co_investigator, borrower, guarantor)]
    + [("pass_review", Status.UNDER_REVIEW, "reviewer", approver_who_returned_it)]
    + [(n, s, "approver", b) for n, s in APPROVER_STEPS
       for b in (marketing_officer, investigator, co_investigator, reviewer, reviewer_who_returned_it, borrower,
                 guarantor)]
    + [(n, s, "branch_approver", b) for n, s in BRANCH_STEPS
       for b in (marketing_officer, investigator, reviewer, borrower, guarantor)]
)


@pytest.mark.parametrize(
    "name, state, post, build", SOD_CASES, ids=[f"{n}-{s}-{b.__name__}" for n, s, _p, b in SOD_CASES]
)
def test_separation_of_duty_conflict_is_refused_and_nothing_changes(ctx, name, state, post, build):
    loan, actor = build(ctx, state, post)
    assert loan.status == state
    error = assert_refused(loan, SeparationOfDuty, lambda: call(name, loan, actor),
                           code="separation_of_duty", status=403)
    assert error.message


def test_person_without_a_role_on_the_loan_may_hold_several_posts(ctx):
    """The same reviewer+approver reviews one loan and approves another: no conflict across loans."""
    both = ctx.person("both", "reviewer", "approver", limit=LIMIT)
    first = ctx.advance(ctx.loan(), Status.PENDING_APPROVAL, pass_review=both)
    second = ctx.advance(ctx.loan(), Status.PENDING_APPROVAL)
    call("approve", second, both)
    second.refresh_from_db()
    assert second.status == Status.APPROVED
    assert first.reviewer == both


# --- What each step records ----------------------------------------------------------------------------------


def test_pass_review_records_the_reviewer_and_proposed_terms(ctx):
    loan = ctx.advance(ctx.loan(), Status.UNDER_REVIEW)
    call("pass_review", loan, ctx.staff.rev, amount=Decimal("90000.00"), term_months=24)
    loan.refresh_from_db()
    assert (loan.reviewer, loan.proposed_amount, loan.proposed_term_months, loan.proposed_rate) == (
        ctx.staff.rev, Decimal("90000.00"), 24, RATE
    )
    assert loan.review_opinion


def test_approve_records_the_decided_terms(ctx):
    loan = ctx.advance(ctx.loan(), Status.PENDING_APPROVAL)
    call("approve", loan, ctx.staff.appr, amount=Decimal("80000.00"), term_months=24,
         repayment_method="equal_principal")
    loan.refresh_from_db()
    assert (loan.approver, loan.approved_amount, loan.approved_term_months, loan.annual_rate,
            loan.approved_method) == (ctx.staff.appr, Decimal("80000.00"), 24, RATE, "equal_principal")
    assert loan.decided_at is not None


@pytest.mark.parametrize("name", ["return_to_marketing", "reject", "return_to_review", "escalate"])
def test_refusing_steps_need_a_reason(ctx, name):
    state = Status.UNDER_REVIEW if name == "return_to_marketing" else Status.PENDING_APPROVAL
    loan = put_in_state(ctx.loan(), state, ctx.staff)
    actor = getattr(ctx.staff, RIGHT_ACTOR[name])
    error = assert_refused(loan, RuleViolation, lambda: call(name, loan, actor, reason=""), code="reason_required")
    assert error.field == "reason"


def test_pass_review_needs_an_opinion(ctx):
    loan = ctx.advance(ctx.loan(), Status.UNDER_REVIEW)
    assert_refused(loan, RuleViolation, lambda: call("pass_review", loan, ctx.staff.rev, opinion=" "),
                   code="opinion_required")


def test_rate_outside_the_product_is_refused(ctx):
    loan = ctx.advance(ctx.loan(), Status.UNDER_REVIEW)
    assert_refused(loan, RuleViolation,
                   lambda: call("pass_review", loan, ctx.staff.rev, annual_rate=Decimal("0.2")),
                   code="rate_out_of_range")
