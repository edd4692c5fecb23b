"""available_transitions: what each person is offered on a loan is exactly what they would be allowed to do."""

from __future__ import annotations

import pytest

from applications.models import Status
from applications.workflow import available_transitions
from tests.applications.support import put_in_state

OFFERED = {
    (Status.DRAFT, "mkt"): ["submit", "withdraw"],
    (Status.DRAFT, "boss"): ["withdraw"],
    (Status.SUBMITTED, "inv"): ["start_investigation"],
    (Status.INVESTIGATING, "inv"): ["complete_investigation"],
    (Status.INVESTIGATING, "inv2"): [],  # inv started it: only they complete it (rule 26)
    (Status.UNDER_REVIEW, "rev"): ["pass_review", "return_to_marketing"],
    (Status.PENDING_APPROVAL, "appr"): ["approve", "escalate", "reject", "return_to_review"],
    (Status.PENDING_BRANCH_APPROVAL, "branch"): ["approve", "reject"],
    (Status.PENDING_BRANCH_APPROVAL, "appr"): [],
    (Status.PENDING_APPROVAL, "mkt"): ["withdraw"],
    (Status.PENDING_APPROVAL, "mkt2"): [],
    (Status.PENDING_APPROVAL, "outsider"): [],
    (Status.REJECTED, "appr"): [],
    (Status.WITHDRAWN, "mkt"): [],
}


@pytest.mark.parametrize("state, persona", list(OFFERED), ids=[f"{s}-{p}" for s, p in OFFERED])
def test_each_person_is_offered_exactly_what_they_may_do(ctx, state, persona):
    loan = put_in_state(ctx.loan(), state, ctx.staff)
    assert sorted(available_transitions(loan, getattr(ctx.staff, persona))) == OFFERED[(state, persona)]


def test_conflicted_person_is_offered_nothing_on_that_loan(ctx):
    both = ctx.person("both", "reviewer", "approver", limit=ctx.staff.appr.approval_limit)
    loan = ctx.advance(ctx.loan(), Status.PENDING_APPROVAL, pass_review=both)
    assert available_transitions(loan, both) == []
    other = ctx.advance(ctx.loan(), Status.PENDING_APPROVAL)
    assert sorted(available_transitions(other, both)) == ["approve", "escalate", "reject", "return_to_review"]
