from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from loancenter.audit import parse_checkpoint, verify_chain
from loancenter.models import AuditEntry, AuditHead


class Command(BaseCommand):
    help = (
        "Walk the audit chain in id order with AUDIT_HMAC_KEY; report the first broken link (exit 1) or that it is "
        "intact, with a checkpoint to keep outside the database and pass back with --since."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")
        parser.add_argument("--chunk-size", type=int, default=2000)
        parser.add_argument(
            "--since", metavar="ID:HASH",
            help="a checkpoint printed by an earlier run: that row must still be in the chain with that hash "
                 "(finds the table and its head put back to an earlier state)",
        )

    def handle(self, *args, **options):
        since = None
        if options["since"]:
            try:
                since = parse_checkpoint(options["since"])
            except ValueError as error:
                raise CommandError(str(error)) from error
        report = verify_chain(AuditHead, AuditEntry, using=options["database"], chunk_size=options["chunk_size"], since=since)
        if not report.intact:
            where = f"row {report.broken_id}" if report.broken_id is not None else "the head"
            raise CommandError(
                f"audit chain broken at {where} ({report.problem}) after {report.rows} intact rows: {report.detail}",
                returncode=1,
            )
        legacy = f" ({report.legacy_rows} of them chained before AUDIT_HMAC_KEY, unkeyed)" if report.legacy_rows else ""
        self.stdout.write(f"audit chain intact: {report.rows} rows{legacy}")
        if report.rows:
            self.stdout.write(f"checkpoint: {report.checkpoint}")
