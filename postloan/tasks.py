"""The nightly batch's Celery tasks and the dispatcher that queues them; the work itself is in ``postloan.batch``.

The tasks are thin (ids in, a call into ``postloan.batch``). The functions below them start and continue runs: they
queue the tasks, so they live here, above the work, and nothing in ``postloan.batch`` knows about Celery's queue.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from celery import shared_task
from kombu.exceptions import OperationalError

from loancenter.celery import app as celery_app
from loancenter.faults import broker_unavailable_error
from loancenter.lib.dates import today
from postloan import batch
from postloan.models import BatchChunk, BatchRun

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def batch_chunk(chunk_id: int) -> None:
    run_chunk_and_continue(chunk_id)


@shared_task
def nightly_batch(as_of: str | None = None) -> None:
    """Celery beat's entry point: the batch for the day that just ended (or ``as_of``)."""
    batch_start(as_of=date.fromisoformat(as_of) if as_of else None)


# --- starting and continuing runs ----------------------------------------------------------------------------------


def batch_start(*, as_of: date | None = None) -> BatchRun:
    """Queue the run for ``as_of`` (default: yesterday) and every missed date before it, then start the earliest."""
    as_of = as_of or today() - timedelta(days=1)
    if as_of > today():
        from django.utils.translation import gettext as _

        from loancenter.lib.errors import RuleViolation

        raise RuleViolation("as_of", _("The batch cannot run for a future date."))
    for day in batch.dates_to_run(as_of):
        BatchRun.objects.get_or_create(as_of=day)
    if celery_app.conf.task_always_eager:
        # In-process: run the dates one after another here (with workers, each finished run starts the next).
        while (run := dispatch_next()) is not None and run.as_of <= as_of:
            run.refresh_from_db()
            if run.status != BatchRun.DONE:
                break
    else:
        dispatch_next()
    return BatchRun.objects.get(as_of=as_of)


def dispatch_next() -> BatchRun | None:
    """Send the chunks of the earliest unfinished run to the workers (one task per chunk)."""
    run = BatchRun.objects.exclude(status=BatchRun.DONE).order_by("as_of").first()
    if run is None:
        return None
    run = batch.plan_run(run.as_of)
    BatchRun.objects.filter(pk=run.pk, status=BatchRun.FAILED).update(status=BatchRun.RUNNING, error="")
    chunk_ids = list(run.chunks.exclude(status=BatchChunk.DONE).values_list("id", flat=True))
    # plan_run committed the chunks already, so workers see them; no on_commit needed (callers hold no transaction).
    if celery_app.conf.task_always_eager:
        for chunk_id in chunk_ids:  # in-process: the task body, without the queue's bookkeeping per chunk
            batch_chunk.run(chunk_id)
        return run
    try:
        for chunk_id in chunk_ids:
            batch_chunk.delay(chunk_id)
    except OperationalError as exc:  # kombu: the broker is down; the run stays queued for the next attempt
        raise broker_unavailable_error() from exc
    return run


def run_chunk_and_continue(chunk_id: int) -> None:
    batch.run_chunk(chunk_id)  # the run's last chunk finishes it: snapshot, the dashboard's figures, monitoring
    run = BatchChunk.objects.select_related("run").get(pk=chunk_id).run
    if celery_app.conf.task_always_eager:
        return  # batch_start drives the dates in-process
    if run.status == BatchRun.DONE and BatchRun.objects.filter(status=BatchRun.QUEUED, as_of__gt=run.as_of).exists():
        dispatch_next()


@shared_task(acks_late=True)
def send_notices() -> dict:
    """Celery beat, every few minutes: the reminders whose time has come, from 08:00 to 22:00 (postloan.notices)."""
    from postloan import notices

    return notices.send_due()


@shared_task
def weekly_reports(week_start: str | None = None) -> None:
    """Celery beat, Mondays: every unit's report of the week before (issue 16)."""
    from postloan.weekly import weekly_reports_generate

    weekly_reports_generate(week_start=date.fromisoformat(week_start) if week_start else None)
