"""A payment in flight when the night reprices its loan (PostgreSQL, two connections; SPEC §15, §16.33: an
installment touched by a payment keeps its figures).

The payment holds its loan and the installment it paid, uncommitted, while the night's chunk starts; the test waits
until the chunk is blocked by it, then lets the payment commit. Before the chunk locked its due loans, its single
statement had read the installment as untouched, waited for the payment's row, and then wrote the repriced figures
over the paid installment.
"""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction

from postloan import batch
from postloan.models import Installment, Repricing
from postloan.services import repayment_post
from tests.postloan.test_batch_life import at, run_batch
from tests.postloan.test_repricing import (  # noqa: F401 - lpr_product is a fixture
    ANNIVERSARY,
    expected_tail,
    figures,
    lpr_loan,
    lpr_product,
    pay_through,
    publish,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: set DATABASE_URL"),
]


def _blocked_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("""SELECT count(DISTINCT l.pid) FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
                           WHERE NOT l.granted AND a.datname = current_database() AND l.pid <> pg_backend_pid()""")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.sidedoor(rule="rate-in-force", path="service: a payment in flight while the night's chunk reprices the loan")
def test_a_payment_in_flight_when_the_loan_reprices_keeps_its_installment(api, staff, customer, lpr_product):  # noqa: F811
    publish(staff, date(2025, 2, 20), "0.0310", "0.0360")
    loan = lpr_loan(api, staff, customer, lpr_product)
    publish(staff, date(2025, 10, 20), "0.0300", "0.0350")
    pay_through(staff, loan, 12)
    run_batch(ANNIVERSARY - timedelta(days=1))
    before = figures(loan)
    paying, release, errors = threading.Event(), threading.Event(), []

    def pay() -> None:  # the borrower's 100.00 on the anniversary, towards installment 13 (the oldest unpaid)
        try:
            with transaction.atomic():
                repayment_post(loan_id=loan.pk, actor=staff.gen, amount=Decimal("100.00"), paid_on=ANNIVERSARY,
                               reference="IN-FLIGHT-1")
                paying.set()
                assert release.wait(60)
        except Exception as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            paying.set()
            connection.close()

    def night() -> None:
        try:
            batch.process_chunk(as_of=ANNIVERSARY, lo=0, hi=loan.pk + 1, previous=ANNIVERSARY - timedelta(days=1))
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    with at(ANNIVERSARY + timedelta(days=1), hour=0):
        payer, chunk = threading.Thread(target=pay), threading.Thread(target=night)
        payer.start()
        assert paying.wait(60) and not errors, errors
        chunk.start()
        deadline = time.monotonic() + 60
        while _blocked_backends() < 1:  # the chunk waits for the payment's locks
            assert time.monotonic() < deadline, "the night's chunk never waited for the payment"
            time.sleep(0.05)
        release.set()
        payer.join(60)
        chunk.join(120)
    assert not errors, errors

    after = figures(loan)
    assert after[:12] == before[:12]
    thirteenth = Installment.objects.get(loan=loan, number=13)
    assert (thirteenth.principal, thirteenth.interest) == (before[12][2], before[12][3])  # untouched by the repricing
    assert (thirteenth.paid_interest, thirteenth.repriced_on) == (Decimal("100.00"), None)
    left = sum((row[2] for row in before[13:]), Decimal("0"))
    assert [(row[2], row[3]) for row in after[13:]] == expected_tail(left, Decimal("0.0330"), 23, "equal_installment")
    assert sum(row[2] for row in after) == Decimal("150000.00")
    record = Repricing.objects.get(loan=loan)
    assert (record.installments, record.first_number) == (23, 14)
