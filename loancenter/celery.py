from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loancenter.settings")

app = Celery("loancenter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    # The nightly batch (SPEC §6): 01:30 local time, for the day that just ended.
    "nightly-batch": {"task": "postloan.tasks.nightly_batch", "schedule": crontab(hour=1, minute=30)},
    # Failed-login counters that count nothing any more (loancenter.auth); they only take space.
    # Reminders (SPEC §12): every 5 minutes from 08:00 to 21:55; the sender itself refuses 22:00–08:00.
    "send-notices": {"task": "postloan.tasks.send_notices", "schedule": crontab(minute="*/5", hour="8-21")},
    "clear-login-counters": {"task": "loancenter.tasks.clear_login_counters", "schedule": crontab(minute=7)},
    # Each unit's weekly report of the week before (issue 16): Monday 06:00, after the night's batch.
    "weekly-reports": {"task": "postloan.tasks.weekly_reports",
                       "schedule": crontab(day_of_week="mon", hour=6, minute=0)},
}
