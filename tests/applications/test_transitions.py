"""Origination transitions of the marketing and investigation posts (SPEC §2, §4): submit,
start_investigation, complete_investigation, withdraw — right post, wrong posts, separation of duty,
wrong states, and that a refusal changes nothing."""

from __future__ import annotations

import pytest

from applications.models import Investigation, Status
from loancenter.lib.errors import Forbidden, InvalidState, SeparationOfDuty
from loancenter.models import RefusedAttempt
from tests.applications.support import assert_refused, call, perform_as, put_in_state
from tests.conftest import PERSONAS

# (transition, the state it starts from, the personas whose post allows it)
CASES = [
    ("submit", Status.DRAFT, {"mkt"}),
    ("start_investigation", Status.SUBMITTED, {"inv", "inv2"}),
    ("complete_investigation", Status.INVESTIGATING, {"inv"}),  # rule 26: only the round's own investigator
    ("withdraw", Status.DRAFT, {"mkt", "boss"}),
    ("withdraw", Status.UNDER_REVIEW, {"mkt", "boss"}),
    ("withdraw", Status.PENDING_BRANCH_APPROVAL, {"mkt", "boss"}),
    ("withdraw", Status.APPROVED, {"mkt", "boss"}),
]

# SPEC §2: the states each transition leaves from ("any state before active" for withdraw).
SOURCES = {
    "submit": {Status.DRAFT},
    "start_investigation": {Status.SUBMITTED},
    "complete_investigation": {Status.INVESTIGATING},
    "withdraw": {Status.DRAFT, Status.SUBMITTED, Status.INVESTIGATING, Status.UNDER_REVIEW, Status.PENDING_APPROVAL,
                 Status.PENDING_BRANCH_APPROVAL, Status.APPROVED, Status.CONTRACT_SIGNED,
                 Status.COLLATERAL_REGISTERED, Status.READY_TO_DISBURSE},
}
RIGHT_ACTOR = {"submit": "mkt", "start_investigation": "inv", "complete_investigation": "inv", "withdraw": "mkt"}


@pytest.mark.parametrize(
    "name, state, persona",
    [(n, s, p) for n, s, right in CASES for p in sorted(right)],
)
def test_right_post_performs_the_transition(ctx, name, state, persona):
    perform_as(ctx, name, state, persona)
    assert not RefusedAttempt.objects.exists()


@pytest.mark.parametrize(
    "name, state, persona",
    [(n, s, p) for n, s, right in CASES for p in PERSONAS if p not in right],
)
def test_wrong_post_is_forbidden_and_nothing_changes(ctx, name, state, persona):
    loan = put_in_state(ctx.loan(), state, ctx.staff)
    actor = getattr(ctx.staff, persona)
    error = assert_refused(loan, Forbidden, lambda: call(name, loan, actor), status=403)
    # mkt2 holds the marketing post but is not this loan's officer (submit and withdraw are the officer's own).
    owners_step = name in ("submit", "withdraw") and persona == "mkt2"
    # inv2 holds the investigator post, but inv started the investigation: only they complete it (rule 26).
    assigned_step = name == "complete_investigation" and persona == "inv2"
    assert error.code == ("not_owner" if owners_step else "not_assigned" if assigned_step else "post_required")


@pytest.mark.parametrize(
    "name, state",
    [(n, s) for n in SOURCES for s in Status.values if s not in SOURCES[n]],
)
def test_wrong_state_is_refused_with_409_and_nothing_changes(ctx, name, state):
    loan = put_in_state(ctx.loan(), state, ctx.staff)
    actor = getattr(ctx.staff, RIGHT_ACTOR[name])
    error = assert_refused(loan, InvalidState, lambda: call(name, loan, actor), code="invalid_state", status=409)
    assert str(loan.get_status_display()) in error.message


# --- Separation of duty (SPEC §4) -------------------------------------------------------------------------------
# Each builder returns (loan in the state of the step, the person who tries, input overrides).


def borrower_is_the_marketing_officer(ctx):
    borrower = ctx.customer()
    officer = ctx.person("selfmkt", "marketing", id_number=borrower.id_number)
    return ctx.loan(officer=officer, customer=borrower), officer, {}


def guarantor_is_the_marketing_officer(ctx):
    guarantor = ctx.customer()
    officer = ctx.person("guarmkt", "marketing", id_number=guarantor.id_number)
    return ctx.loan(officer=officer, guarantor=guarantor), officer, {}


def marketing_officer_investigates(ctx):
    officer = ctx.person("mktinv", "marketing", "investigator")
    loan = ctx.loan(officer=officer, customer=ctx.customer())
    return ctx.advance(loan, Status.SUBMITTED, submit=officer), officer, {}


def reviewer_who_returned_it_investigates(ctx):
    revinv = ctx.person("revinv", "reviewer", "investigator")
    loan = ctx.advance(ctx.loan(), Status.UNDER_REVIEW)
    call("return_to_marketing", loan, revinv)
    return ctx.advance(loan, Status.SUBMITTED), revinv, {}


def borrower_investigates(ctx):
    borrower = ctx.customer()
    person = ctx.person("borinv", "investigator", id_number=borrower.id_number)
    return ctx.advance(ctx.loan(customer=borrower), Status.SUBMITTED), person, {}


def marketing_officer_completes_investigation(ctx):
    officer = ctx.person("mktinv", "marketing", "investigator")
    loan = ctx.loan(officer=officer)
    return ctx.advance(loan, Status.INVESTIGATING, submit=officer), officer, {}


def marketing_officer_named_as_co_investigator(ctx):
    officer = ctx.person("mktinv", "marketing", "investigator")
    loan = ctx.advance(ctx.loan(officer=officer), Status.INVESTIGATING, submit=officer)
    return loan, ctx.staff.inv, {"investigators": [ctx.staff.inv, officer]}


def guarantor_completes_investigation(ctx):
    guarantor = ctx.customer()
    person = ctx.person("guarinv", "investigator", id_number=guarantor.id_number)
    return ctx.advance(ctx.loan(guarantor=guarantor), Status.INVESTIGATING), person, {}


def borrower_as_marketing_officer_withdraws(ctx):
    loan, officer, _ = borrower_is_the_marketing_officer(ctx)
    return loan, officer, {}


def guarantor_as_manager_withdraws(ctx):
    guarantor = ctx.customer()
    manager = ctx.person("guarboss", "manager", id_number=guarantor.id_number)
    return ctx.advance(ctx.loan(guarantor=guarantor), Status.UNDER_REVIEW), manager, {}


SOD_CASES = [
    ("submit", borrower_is_the_marketing_officer),
    ("submit", guarantor_is_the_marketing_officer),
    ("start_investigation", marketing_officer_investigates),
    ("start_investigation", reviewer_who_returned_it_investigates),
    ("start_investigation", borrower_investigates),
    ("complete_investigation", marketing_officer_completes_investigation),
    ("complete_investigation", marketing_officer_named_as_co_investigator),
    ("complete_investigation", guarantor_completes_investigation),
    ("withdraw", borrower_as_marketing_officer_withdraws),
    ("withdraw", guarantor_as_manager_withdraws),
]


@pytest.mark.parametrize("name, build", SOD_CASES, ids=[f"{n}-{b.__name__}" for n, b in SOD_CASES])
def test_separation_of_duty_conflict_is_refused_and_nothing_changes(ctx, name, build):
    loan, actor, overrides = build(ctx)
    error = assert_refused(loan, SeparationOfDuty, lambda: call(name, loan, actor, **overrides),
                           code="separation_of_duty", status=403)
    assert "separation of duty" in error.message or "borrower or a guarantor" in error.message


# --- What each step records ----------------------------------------------------------------------------------


def test_start_investigation_opens_a_round_assigned_to_the_investigator(ctx):
    loan = ctx.advance(ctx.loan(), Status.SUBMITTED)
    call("start_investigation", loan, ctx.staff.inv2)
    investigation = Investigation.objects.get(loan=loan)
    assert investigation.assignee == ctx.staff.inv2
    assert investigation.completed_at is None


def test_complete_investigation_records_the_report(ctx):
    loan = ctx.advance(ctx.loan(), Status.INVESTIGATING)
    call("complete_investigation", loan, ctx.staff.inv, comment="经营稳定")
    investigation = Investigation.objects.get(loan=loan)
    assert investigation.opinion == "recommend"
    assert investigation.completed_at is not None
    assert list(investigation.investigators.all()) == [ctx.staff.inv]
    assert investigation.recommended_amount == loan.amount


def test_withdraw_needs_a_reason(ctx):
    from loancenter.lib.errors import RuleViolation

    loan = ctx.loan()
    error = assert_refused(loan, RuleViolation, lambda: call("withdraw", loan, ctx.staff.mkt, reason="  "),
                           code="reason_required", status=400)
    assert error.field == "reason"


def test_returned_application_can_be_corrected_and_resubmitted(ctx):
    loan = ctx.advance(ctx.loan(), Status.UNDER_REVIEW)
    call("return_to_marketing", loan, ctx.staff.rev, reason="补充收入证明")
    loan.refresh_from_db()
    assert loan.status == Status.DRAFT
    ctx.advance(loan, Status.UNDER_REVIEW)
    assert loan.investigations.count() == 2
