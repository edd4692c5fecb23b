"""Celery tasks: thin, ids in, a service call (STYLE.md)."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from postloan import batch, batch_services


@shared_task(acks_late=True)
def batch_chunk(chunk_id: int) -> None:
    batch_services.run_chunk_and_continue(chunk_id)


@shared_task
def dashboard_figures(run_id: int) -> None:
    batch.dashboard_figures(run_id)


@shared_task
def nightly_batch(as_of: str | None = None) -> None:
    """Celery beat's entry point: the batch for the day that just ended (or ``as_of``)."""
    batch_services.batch_start(as_of=date.fromisoformat(as_of) if as_of else None)


@shared_task
def weekly_reports(week_start: str | None = None) -> None:
    """Celery beat, Mondays: every unit's report of the week before (issue 16)."""
    from postloan.weekly import weekly_reports_generate

    weekly_reports_generate(week_start=date.fromisoformat(week_start) if week_start else None)
