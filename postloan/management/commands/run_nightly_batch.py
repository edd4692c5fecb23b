from __future__ import annotations

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from loancenter.lib.errors import DomainError
from postloan.models import BatchRun
from postloan.tasks import batch_start


class Command(BaseCommand):
    help = "Run the nightly batch for an as-of date (and any missed dates before it, in date order)."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=date.fromisoformat, help="YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--wait", action="store_true", help="with real workers: wait until the run has finished")

    def handle(self, *args, as_of=None, wait=False, **options):
        try:
            run = batch_start(as_of=as_of)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        while wait and run.status not in (BatchRun.DONE, BatchRun.FAILED):
            time.sleep(0.5)
            run.refresh_from_db()
        run.refresh_from_db()
        seconds = f"{run.seconds:.2f} s" if run.seconds is not None else "-"
        self.stdout.write(
            f"nightly batch as of {run.as_of}: {run.status}, {run.loans} loans, "
            f"{run.chunks_done}/{run.chunks_total} chunks, {seconds}"
        )
        if run.status == BatchRun.FAILED:
            raise CommandError(f"the run failed: {run.error}")
