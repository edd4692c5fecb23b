"""Rule 16 under real concurrency: twenty simultaneous disburse calls on one loan (PostgreSQL row locks)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from applications.models import Loan, Status
from disbursement.models import Disbursement
from loancenter.lib.errors import DomainError
from loancenter.models import AuditEntry
from loancenter.transitions import perform
from postloan.models import Installment
from tests.conftest import payloads

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL: set DATABASE_URL"),
]


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_disbursements_give_exactly_one(staff, flow, draft):
    loan = flow.advance(draft, Status.READY_TO_DISBURSE)
    data = payloads(staff, loan)["disburse"]
    barrier = threading.Barrier(20)
    results, errors = [], []

    def disburse():
        try:
            barrier.wait()
            results.append(perform("disburse", loan_id=loan.pk, actor=staff.disb, data=data).status)
        except DomainError as exc:  # pragma: no cover - would be a failure below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=disburse) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert results == [Status.ACTIVE] * 20  # every caller sees the first (and only) result
    assert Disbursement.objects.filter(loan=loan).count() == 1
    assert Installment.objects.filter(loan=loan).count() == loan.term_months
    assert AuditEntry.objects.filter(loan=loan, action="disburse").count() == 1
    assert Loan.objects.get(pk=loan.pk).status == Status.ACTIVE
