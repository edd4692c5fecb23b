from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from loancenter.audit import verify_chain


class Command(BaseCommand):
    help = "Walk the audit chain in id order; report the first broken link (exit 1) or that it is intact."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")
        parser.add_argument("--chunk-size", type=int, default=2000)

    def handle(self, *args, **options):
        report = verify_chain(using=options["database"], chunk_size=options["chunk_size"])
        if not report.intact:
            raise CommandError(
                f"audit chain broken at row {report.broken_id} ({report.problem}) after {report.rows} intact rows: "
                f"{report.detail}",
                returncode=1,
            )
        self.stdout.write(f"audit chain intact: {report.rows} rows")
