"""``seed_demo``: load the demo (staff for every post, products, customers, loans in every state) once."""

from __future__ import annotations

import logging
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError

from demo.loans import DEMO_PASSWORD, demo_present
from demo.post_loan import seed_warnings
from demo.seed import load_demo
from loancenter.lib.errors import Conflict
from loancenter.models import User
from loancenter.refusals import record_refusal

# The demo's staff hold every post with one published password: loaded next to real staff they would be accounts with
# powers nobody granted through rule 30's four-eyes staff administration.
REAL_STAFF = "Staff already exist: the demo's accounts (every post, one published password) would join them without "\
             "rule 30's staff requests. Load the demo into a database without staff."


# The demo runs hundreds of Celery tasks in-process; each would log a line ("Task … succeeded"), and kombu warns
# that the in-memory broker has no hostname. `make run` prints the summary instead (issue 15: a quiet start).
QUIET_LOGGERS = ("celery", "kombu")


@contextmanager
def quiet(names=QUIET_LOGGERS, level=logging.ERROR):
    loggers = [logging.getLogger(name) for name in names]
    before = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, previous in zip(loggers, before, strict=True):
            logger.setLevel(previous)


class Command(BaseCommand):
    help = "Load demo staff, products, customers and loans (does nothing when the demo is already loaded)."

    def add_arguments(self, parser):
        parser.add_argument("--if-no-staff", action="store_true",
                            help="load only into a database without any staff (what `make run` uses)")

    def handle(self, *args, if_no_staff: bool = False, **options):
        if if_no_staff and User.objects.exists():
            self.stdout.write("Staff already exist; demo data not loaded.")
            return
        if demo_present():
            self.stdout.write("Demo data already loaded; nothing to do.")
            return
        if User.objects.filter(is_superuser=False).exists():  # the operator's superuser alone holds no post
            record_refusal(actor=None, action="seed_demo", loan_id=None, error=Conflict("real_staff", REAL_STAFF))
            raise CommandError(REAL_STAFF)
        with quiet():
            result = load_demo()
            seed_warnings(result.staff)
        counts = result.status_counts
        self.stdout.write(f"Demo staff (password for all: {DEMO_PASSWORD}):")
        for user in result.staff:
            limit = f"  limit {user.approval_limit:,.0f}" if user.approval_limit is not None else ""
            self.stdout.write(f"  {user.username:<8} {user.get_full_name():<6} {', '.join(sorted(user.posts))}{limit}")
        self.stdout.write(
            f"Loaded {len(result.staff)} staff, {len(result.products)} products, {len(result.customers)} customers, "
            f"{len(result.loans)} loans ({', '.join(f'{s} {n}' for s, n in sorted(counts.items()))})."
        )
