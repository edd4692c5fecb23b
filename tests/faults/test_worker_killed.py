"""A Celery worker killed in the middle of the nightly batch: the run resumes and ends as a clean run would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import redis
from django.db import connection

from applications.models import Loan
from disbursement.selectors import schedule_as_of_book
from loancenter.celery import app
from postloan.models import BatchChunk, BatchRun, Installment
from postloan.tasks import batch_start
from tests.postloan.test_batch_runs import START, portfolio  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
BROKER = "redis://127.0.0.1:6379/9"

pytestmark = [
    pytest.mark.serial,
    pytest.mark.celery,
    pytest.mark.skipif(connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"),
                       reason="needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)"),
]


def start_worker(**env) -> subprocess.Popen:
    db = connection.settings_dict
    worker_env = {
        **os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": BROKER, "BATCH_CHUNK_STALE_SECONDS": "1", "LOG_LEVEL": "WARNING", **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "loancenter", "worker", "-P", "solo", "--without-mingle",
         "--without-gossip", "--without-heartbeat", "-l", "WARNING"],
        cwd=ROOT, env=worker_env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def real_broker():
    redis.Redis.from_url(BROKER).flushdb()
    previous = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = BROKER, False
    app._pool = None
    app.amqp._producer_pool = None
    yield
    app.conf.broker_url, app.conf.task_always_eager = previous
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.django_db(transaction=True)
def test_killed_worker_mid_chunk_resumes_and_ends_like_a_clean_run(portfolio, real_broker):  # noqa: F811
    as_of = START + timedelta(days=75)  # every loan 44 days past its first due date
    stalled = start_worker(BATCH_FAULT_STALL_SECONDS="60")
    try:
        run = batch_start(as_of=as_of)
        wait_for(lambda: BatchChunk.objects.filter(run=run, status=BatchChunk.RUNNING).exists(), 60, "a chunk to start")
        time.sleep(1)  # it is now half-way: penalties written, not committed
    finally:
        os.killpg(stalled.pid, signal.SIGKILL)
        stalled.wait(10)
    killed = BatchChunk.objects.get(run=run, status=BatchChunk.RUNNING)
    assert not Installment.objects.filter(loan_id__gte=killed.lo, loan_id__lt=killed.hi, penalty__gt=0).exists()

    healthy = start_worker()
    try:
        # The other chunks are still queued and run; the killed one stays "running" until someone resumes.
        wait_for(lambda: BatchChunk.objects.filter(run=run, status=BatchChunk.DONE).count() == run.chunks_total - 1,
                 60, "the other chunks")
        time.sleep(1.5)  # the killed chunk's claim is now stale (BATCH_CHUNK_STALE_SECONDS=1 in the workers)
        batch_start(as_of=as_of)  # the operator re-runs the command: unfinished chunks are sent again
        wait_for(lambda: BatchRun.objects.get(pk=run.pk).status == BatchRun.DONE, 60, "the run to finish")
    finally:
        os.killpg(healthy.pid, signal.SIGTERM)
        healthy.wait(20)

    run.refresh_from_db()
    assert run.chunks_done == run.chunks_total == 3 and run.loans == 6
    # As a clean run would leave it: every loan 44 days past due, T2, 关注; penalty accrued exactly once.
    for loan in Loan.objects.all():
        assert (loan.days_past_due, loan.collection_tier, loan.grade) == (44, "T2", "special_mention")
        for inst in (i for i in schedule_as_of_book(loan) if i.due_date < as_of):  # as the schedule shows it
            days = (as_of - inst.due_date).days
            expected = ((inst.principal + inst.interest) * loan.annual_rate * Decimal("1.5") / 360 * days).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP)
            assert inst.penalty == expected
