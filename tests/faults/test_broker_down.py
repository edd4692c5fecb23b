"""Redis (the Celery broker) down: pages and the API keep working; starting the batch says clearly it could not start."""

from __future__ import annotations

import time

import pytest

from loancenter.celery import app
from postloan.models import BatchRun

DEAD_BROKER = "redis://127.0.0.1:6399/0"  # nothing listens here


@pytest.fixture
def broker_down():
    previous = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = DEAD_BROKER, False
    app._pool = None  # drop pooled connections to the real broker
    app.amqp._producer_pool = None
    yield
    app.conf.broker_url, app.conf.task_always_eager = previous
    app._pool = None
    app.amqp._producer_pool = None


def test_pages_and_api_work_while_the_broker_is_down(client, staff, draft, broker_down):
    client.force_login(staff.mkt)
    assert client.get("/").status_code == 200
    assert client.get(f"/loans/{draft.pk}/").status_code == 200
    response = client.post(f"/api/loans/{draft.pk}/transitions/submit/", {}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "submitted"


def test_starting_the_batch_says_the_queue_is_down_and_stays_queued(client, staff, broker_down):
    client.force_login(staff.boss)
    started = time.monotonic()
    response = client.post("/reports/batch/run/", follow=True)
    assert time.monotonic() - started < 15  # gives up quickly instead of hanging the manager's page
    assert response.status_code == 200
    page = response.content.decode()
    assert "queue" in page.lower() or "队列" in page
    run = BatchRun.objects.get()
    assert run.status == BatchRun.QUEUED and run.chunks_done == 0
