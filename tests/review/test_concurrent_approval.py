"""Two approvers decide the same loan at the same moment: exactly one wins, the other gets 409 (issue 2).

This needs real row locks and two real connections, so it runs against PostgreSQL only.
"""

from __future__ import annotations

import os
import threading
from decimal import Decimal

import pytest
from django.db import connection

from applications.models import Loan, Status
from loancenter.lib.errors import InvalidState
from loancenter.models import AuditEntry
from review.services import loan_approve
from tests.applications.support import RATE, Ctx

DATABASE_URL = os.environ.get("DATABASE_URL", "")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not DATABASE_URL.startswith(("postgres://", "postgresql://")),
                       reason="needs PostgreSQL: set DATABASE_URL=postgres://… (CI does)"),
]


@pytest.mark.django_db(transaction=True)
def test_two_approvers_deciding_at_once_exactly_one_wins(staff, product):
    assert connection.vendor == "postgresql"
    ctx = Ctx(staff, product)
    second = ctx.person("appr_b", "approver", limit=Decimal("200000.00"))
    loan = ctx.advance(ctx.loan(), Status.PENDING_APPROVAL)

    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def decide(approver) -> None:
        try:
            barrier.wait(timeout=10)
            loan_approve(loan_id=loan.pk, actor=approver, amount=loan.amount, term_months=loan.term_months,
                         annual_rate=RATE, repayment_method=loan.repayment_method, reason="同意")
            outcomes[approver.username] = "approved"
        except Exception as error:  # noqa: BLE001  (recorded and asserted below)
            outcomes[approver.username] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(approver,)) for approver in (staff.appr, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert set(outcomes) == {"appr", "appr_b"}
    winners = [name for name, result in outcomes.items() if result == "approved"]
    losers = [result for result in outcomes.values() if result != "approved"]
    assert len(winners) == 1, outcomes
    assert len(losers) == 1 and isinstance(losers[0], InvalidState), outcomes
    assert (losers[0].code, losers[0].status) == ("invalid_state", 409)

    loan = Loan.objects.get(pk=loan.pk)
    assert loan.status == Status.APPROVED
    assert loan.approver.username == winners[0]
    assert AuditEntry.objects.filter(loan=loan, action="approve").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_pieces_of_one_customers_loan_approved_at_once_count_each_other(staff, product):
    """Rule 27: two approvers with a 50,000 limit each approve one of two 40,000 loans to the same customer at the
    same moment; the customer row is locked for the decision, so the second counts the first and is refused."""
    assert connection.vendor == "postgresql"
    ctx = Ctx(staff, product)
    approvers = [ctx.person(f"small_{n}", "approver", limit=Decimal("50000.00")) for n in (1, 2)]
    customer = ctx.customer()
    loans = [ctx.advance(ctx.loan(customer=customer, amount=Decimal("40000.00")), Status.PENDING_APPROVAL)
             for _ in range(2)]

    barrier = threading.Barrier(2)
    outcomes: dict[int, object] = {}

    def decide(approver, loan) -> None:
        try:
            barrier.wait(timeout=10)
            loan_approve(loan_id=loan.pk, actor=approver, amount=loan.amount, term_months=loan.term_months,
                         annual_rate=RATE, repayment_method=loan.repayment_method, reason="同意")
            outcomes[loan.pk] = "approved"
        except Exception as error:  # noqa: BLE001  (recorded and asserted below)
            outcomes[loan.pk] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=pair) for pair in zip(approvers, loans, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(str(result) == "approved" for result in outcomes.values()) == [False, True], outcomes
    [refused] = [result for result in outcomes.values() if result != "approved"]
    assert refused.code == "authority_limit" and "80,000.00" in refused.message
    assert Loan.objects.filter(pk__in=[loan.pk for loan in loans], status=Status.APPROVED).count() == 1
