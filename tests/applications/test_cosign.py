"""Rule 26 and the separation-of-duty table through the services: hand-over of a report waiting for its
co-signature, the roles the SoD additions read, and what one check costs."""

from __future__ import annotations

import pytest

from applications import rules
from applications.models import LoanHandover, Status
from applications.services import investigations_hand_over, open_investigations_of
from loancenter.lib.errors import RuleViolation
from loancenter.models import AuditEntry
from tests.applications.support import call
from tests.factories import ProductFactory


@pytest.fixture
def waiting(ctx):
    """A two-person loan whose report inv filed, naming inv2: it waits for inv2's co-signature."""
    loan = ctx.advance(ctx.loan(product=ProductFactory(code="dual", dual_investigation=True)), Status.INVESTIGATING)
    call("complete_investigation", loan, ctx.staff.inv, investigators=[ctx.staff.inv, ctx.staff.inv2])
    loan.refresh_from_db()
    return loan


def test_a_report_waiting_for_a_cosignature_is_open_work_of_the_second(ctx, waiting):
    assert open_investigations_of(ctx.staff.inv2) == 1
    assert open_investigations_of(ctx.staff.inv) == 1  # their round, not completed until co-signed


def test_a_handover_never_makes_one_person_both_investigators(ctx, waiting):
    before = (waiting.investigations.values("assignee", "cosigner").get(), LoanHandover.objects.count(),
              AuditEntry.objects.count())
    with pytest.raises(RuleViolation) as exc:
        investigations_hand_over(from_user=ctx.staff.inv2, to_user=ctx.staff.inv, actor=ctx.staff.boss)
    assert exc.value.code == "handover" and "rule 26" in exc.value.message
    with pytest.raises(RuleViolation):
        investigations_hand_over(from_user=ctx.staff.inv, to_user=ctx.staff.inv2, actor=ctx.staff.boss)
    assert (waiting.investigations.values("assignee", "cosigner").get(), LoanHandover.objects.count(),
            AuditEntry.objects.count()) == before


def test_the_second_investigators_successor_cosigns(ctx, waiting):
    inv3 = ctx.person("inv3", "investigator")
    assert investigations_hand_over(from_user=ctx.staff.inv2, to_user=inv3, actor=ctx.staff.boss) == 1

    investigation = waiting.investigations.get()
    assert investigation.cosigner == inv3 and investigation.assignee == ctx.staff.inv
    assert set(investigation.investigators.all()) == {ctx.staff.inv, inv3}
    handover = LoanHandover.objects.get()
    assert (handover.role, handover.from_user, handover.to_user) == ("cosigner", ctx.staff.inv2, inv3)
    call("cosign_investigation", waiting, inv3)
    waiting.refresh_from_db()
    assert waiting.status == Status.UNDER_REVIEW


def test_the_sod_additions_read_who_escalated_and_who_stamped(ctx, flow):
    both = ctx.person("both", "approver", "branch_approver", limit=ctx.staff.appr.approval_limit)
    loan = ctx.advance(ctx.loan(), Status.PENDING_BRANCH_APPROVAL, escalate=both)
    assert {rules.APPROVER, rules.ESCALATOR} <= rules.roles_held(loan, both)
    assert not rules.sod_allows(loan, both, (rules.APPROVER, rules.BRANCH_APPROVER))
    assert rules.sod_allows(loan, both, rules.APPROVER)  # the first level's own role: no conflict with itself

    loan = flow.advance(ctx.loan(), Status.READY_TO_DISBURSE)
    assert rules.RECEIPT_PREPARER in rules.roles_held(loan, ctx.staff.rev)
    assert not rules.sod_allows(loan, ctx.staff.rev, rules.DISBURSER)
    assert rules.roles_held(loan, ctx.staff.disb) == set()


def test_a_separation_check_asks_one_query(ctx, flow, django_assert_num_queries):
    borrower = ctx.customer()
    insider = ctx.person("insider", "reviewer", id_number=borrower.id_number)
    loan = flow.advance(ctx.loan(customer=borrower), Status.UNDER_REVIEW)
    loan.refresh_from_db()
    for user, allowed in ((ctx.staff.rev, True), (insider, False), (ctx.staff.inv, False)):
        with django_assert_num_queries(1):
            assert rules.sod_allows(loan, user, rules.REVIEWER) is allowed
