"""Two officers moving two loans at the same moment: both rows land on one unbroken chain (issue 7 part 3).

Real concurrent transactions need PostgreSQL; there the chain is serialised by an advisory lock.
"""

from __future__ import annotations

import os
import threading

import pytest
from django.db import connection
from django.db import connections as django_connections

from applications.models import Loan, Status
from loancenter.audit import verify_chain
from loancenter.models import AuditEntry, AuditHead
from loancenter.transitions import perform
from tests.conftest import ACTORS, payloads
from tests.factories import CustomerFactory, LoanFactory

DATABASE_URL = os.environ.get("DATABASE_URL", "")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not DATABASE_URL.startswith(("postgres://", "postgresql://")),
                       reason="needs PostgreSQL: set DATABASE_URL=postgres://… (CI does)"),
]

STEPS = ["submit", "start_investigation", "complete_investigation", "pass_review", "approve"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_transitions_on_different_loans_leave_an_intact_chain(staff, product):
    assert connection.vendor == "postgresql"
    loans = [
        LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
        for _ in range(2)
    ]
    before = AuditEntry.objects.count()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def drive(loan_id: int) -> None:
        try:
            for name in STEPS:
                barrier.wait(timeout=30)  # both threads enter each step together
                loan = Loan.objects.get(pk=loan_id)
                perform(name, loan_id=loan_id, actor=getattr(staff, ACTORS[name]), data=payloads(staff, loan)[name])
        except BaseException as error:  # reported below
            errors.append(error)
            barrier.abort()
        finally:
            django_connections.close_all()

    threads = [threading.Thread(target=drive, args=(loan.pk,)) for loan in loans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert [Loan.objects.get(pk=loan.pk).status for loan in loans] == [Status.APPROVED, Status.APPROVED]
    # Every transition wrote its row (plus any non-transition rows the services add), all on one chain.
    assert AuditEntry.objects.filter(loan__in=loans, action__in=STEPS).count() == 2 * len(STEPS)
    report = verify_chain(AuditHead, AuditEntry)
    assert report.intact, report
    assert report.rows == AuditEntry.objects.count() > before
