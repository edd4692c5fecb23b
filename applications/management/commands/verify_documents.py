"""Re-hash every stored document and name any that changed or went missing (SPEC §11); non-zero exit if any."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from applications.files.integrity import verify_files
from applications.files.models import DocumentFile


def _describe(document: DocumentFile) -> str:
    where = f"loan {document.loan_id}" if document.loan_id else f"customer {document.customer_id}"
    return f"document {document.pk} ({where}, {document.code} v{document.version}, {document.storage_name})"


class Command(BaseCommand):
    help = "Re-hash every stored document file; name those changed or missing; exit 1 if any."

    def add_arguments(self, parser):
        parser.add_argument("--previews", action="store_true", help="also make the previews that are missing")

    def handle(self, *args, previews: bool = False, **options):
        report = verify_files()
        for document in report.changed:
            self.stderr.write(f"CHANGED {_describe(document)}: its bytes no longer match the SHA-256 kept on upload")
        for document in report.missing:
            self.stderr.write(f"MISSING {_describe(document)}: not found in storage")
        if previews:
            from applications.files.previews import document_make_preview

            for pk in DocumentFile.objects.filter(preview_name="").values_list("pk", flat=True):
                document_make_preview(pk)
        summary = (f"verified {report.checked} files: {report.checked - len(report.changed) - len(report.missing)} ok, "
                   f"{len(report.changed)} changed, {len(report.missing)} missing")
        if not report.ok:
            raise CommandError(summary)
        self.stdout.write(summary)
