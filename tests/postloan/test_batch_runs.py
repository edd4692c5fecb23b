"""Batch runs: idempotent per date, resumable after a crash with the same result as a clean run, catch-up in order,
and the chunks really run on a Celery worker over Redis."""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import models, transaction

from applications.models import Loan, Status
from postloan import batch
from postloan.models import BatchChunk, BatchRun, CollectionCase, EscalationTask
from postloan.selectors import schedule_as_of_book
from postloan.tasks import batch_start
from tests.factories import CustomerFactory, LoanFactory
from tests.postloan.test_batch_life import at

START = date(2025, 3, 10)


@pytest.fixture
def portfolio(flow, staff, product, settings):
    """Six active loans of different sizes to six borrowers, disbursed on START; chunks of two loans each.

    (One borrower with six loans would exceed the product's DTI and the approver's limit: rules 8 and 27 count the
    borrower's other loans.)"""
    settings.BATCH_CHUNK_SIZE = 2
    loans = []
    with at(START, hour=10):
        for n in range(6):
            loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt,
                               amount=Decimal("20000.00") + n * Decimal("7777.77"), term_months=12 + n)
            loans.append(flow.advance(loan, Status.ACTIVE))
    return loans


def state():
    loans = [(loan.days_past_due, loan.collection_tier, loan.grade, loan.provision, loan.npl_cure_start,
              loan.observation_until) for loan in Loan.objects.order_by("id")]
    # Penalty in cents as the schedule shows it (what a customer owes), and each installment's status.
    installments = [(i.penalty, i.status) for loan in Loan.objects.order_by("id") for i in schedule_as_of_book(loan)]
    cases = list(CollectionCase.objects.order_by("loan_id").values_list("loan_id", "tier", "owner_post", "closed_on"))
    tasks = sorted(EscalationTask.objects.values_list("loan_id", "kind"))
    return loans, installments, cases, tasks


def run(as_of: date):
    with at(as_of + timedelta(days=1)):
        call_command("run_nightly_batch", "--as-of", as_of.isoformat(), stdout=open(os.devnull, "w"))  # noqa: SIM115


class Rollback(Exception):
    pass


def test_same_as_of_twice_changes_nothing(portfolio):
    as_of = START + timedelta(days=75)
    run(as_of)
    first = state()
    assert any(dpd > 30 for dpd, *_ in first[0])
    run(as_of)
    assert state() == first
    assert BatchRun.objects.get(as_of=as_of).status == BatchRun.DONE


def test_a_crash_half_way_resumes_to_the_same_result_as_a_clean_run(portfolio):
    as_of = START + timedelta(days=100)
    # The clean run, then roll it back.
    try:
        with transaction.atomic():
            run(as_of)
            clean = state()
            raise Rollback
    except Rollback:
        pass
    assert state() != clean  # rolled back: nothing graded yet

    lo = min(loan.pk for loan in portfolio)
    batch.FAIL_CHUNKS_AT.add(lo + 2)  # the middle one of three chunks of two loans
    try:
        with pytest.raises((CommandError, RuntimeError)):
            run(START + timedelta(days=30))  # the first date of a catch-up run crashes half-way
    finally:
        batch.FAIL_CHUNKS_AT.clear()
    crashed = BatchRun.objects.get(as_of=START + timedelta(days=30))
    assert crashed.status == BatchRun.FAILED
    assert 0 < crashed.chunks.filter(status=BatchChunk.DONE).count() < crashed.chunks_total

    # Resume: re-run. The failed date completes first, then every date up to as-of, in order.
    run(as_of)
    assert BatchRun.objects.filter(status=BatchRun.DONE).count() == 71
    assert list(BatchRun.objects.order_by("as_of").values_list("as_of", flat=True))[0] == START + timedelta(days=30)
    # Catching up day by day from day 30 gives the same result as the clean single run at day 100.
    assert state() == clean


def test_missed_days_are_caught_up_in_date_order(portfolio):
    run(START + timedelta(days=40))
    run(START + timedelta(days=45))
    runs = list(BatchRun.objects.order_by("as_of").values_list("as_of", "status", "finished_at"))
    assert [r[0] for r in runs] == [START + timedelta(days=d) for d in range(40, 46)]
    assert all(status == BatchRun.DONE for _d, status, _f in runs)
    finished = [f for *_x, f in runs]
    assert finished == sorted(finished)


def test_batch_refuses_a_future_date(portfolio):
    with pytest.raises(CommandError):
        with at(START):
            call_command("run_nightly_batch", "--as-of", (START + timedelta(days=5)).isoformat(),
                         stdout=open(os.devnull, "w"))  # noqa: SIM115


@pytest.mark.celery
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis: set REDIS_URL")
@pytest.mark.django_db(transaction=True)
def test_chunks_run_on_a_real_celery_worker_over_redis(portfolio):
    from celery.contrib.testing.worker import start_worker

    from loancenter.celery import app

    as_of = START + timedelta(days=70)  # first due date + 39 days
    app.conf.task_always_eager = False
    with at(as_of + timedelta(days=1)), start_worker(app, pool="threads", concurrency=2, perform_ping_check=False,
                                                     shutdown_timeout=30):
        run_row = batch_start(as_of=as_of)
        deadline = time.monotonic() + 60
        while run_row.status != BatchRun.DONE and time.monotonic() < deadline:
            time.sleep(0.2)
            run_row.refresh_from_db()
    assert run_row.status == BatchRun.DONE
    assert run_row.chunks_total == 3 and run_row.chunks_done == 3
    assert run_row.loans == 6
    assert set(Loan.objects.values_list("collection_tier", flat=True)) == {"T2"}


def test_the_night_stores_the_dashboards_figures_as_counted_independently(portfolio):
    """The run writes the dashboard's borrowers (counted in the snapshot's scan of the loans) and the period's
    interest (收息率, from its index) with the snapshot: equal to a count made here, row by row, in Python."""
    from postloan import reports
    from postloan.models import DailySnapshot, Installment

    as_of = START + timedelta(days=75)
    first, second, paying, *_rest, settled = portfolio
    Loan.objects.filter(pk=second.pk).update(customer=first.customer)  # one borrower, two active loans
    Loan.objects.filter(pk=settled.pk).update(status=Status.SETTLED)
    paid = Installment.objects.filter(loan=paying, due_date__lte=as_of)
    paid.update(paid_interest=models.F("interest"))
    run(as_of)

    stored = BatchRun.objects.get(as_of=as_of)
    loans = list(Loan.objects.all())
    borrowers = len({loan.customer_id for loan in loans if loan.status == Status.ACTIVE})
    window = [i for i in Installment.objects.all() if as_of - timedelta(days=29) <= i.due_date <= as_of]
    due, received = sum(i.interest for i in window), sum(i.paid_interest for i in window)
    assert (stored.borrowers, stored.period_interest_due, stored.period_interest_received) == (
        borrowers, due, received)
    assert borrowers == 4 and due > received > 0
    # The snapshot's cells are what they were: every kept loan by product, status, grade and tier.
    cells: dict = {}
    for loan in loans:
        if loan.status in (Status.ACTIVE, Status.WRITTEN_OFF, Status.SETTLED):
            key = (loan.product_id, loan.status, loan.grade, loan.collection_tier)
            n, balance, overdue, provision = cells.get(key, (0, Decimal(0), Decimal(0), Decimal(0)))
            late = loan.status != Status.SETTLED and loan.oldest_unpaid_due is not None and loan.oldest_unpaid_due < as_of
            cells[key] = (n + 1, balance + loan.outstanding_principal,
                          overdue + (loan.outstanding_principal if late else 0), provision + loan.provision)
    assert {(c.product_id, c.status, c.grade, c.tier): (c.loans, c.balance, c.overdue_balance, c.provision)
            for c in DailySnapshot.objects.filter(as_of=as_of)} == cells
    # The dashboard shows them (read from the run, not counted again).
    shown = reports.portfolio(as_of)
    assert (shown.borrowers, shown.interest_due, shown.interest_received) == (borrowers, due, received)
