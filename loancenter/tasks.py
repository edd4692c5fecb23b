"""Celery tasks of the center-wide app: thin, a service call (STYLE.md)."""

from __future__ import annotations

from celery import shared_task

from loancenter import auth


@shared_task
def clear_login_counters() -> int:
    """Celery beat, hourly: delete failed-login counters whose window and lock have passed."""
    return auth.clear_login_counters()
