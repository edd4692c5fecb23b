"""Printed documents of the archive: the loan's checklist and the registers (WeasyPrint, A4)."""

from __future__ import annotations

from datetime import date

import segno
from django.http import Http404
from django.utils import timezone

from applications.models import Loan
from archive import selectors
from loancenter.lib.pdf import render_pdf


def folder_qr(folder_no: str) -> str:
    """A QR code of the folder number as an SVG data URI (error correction M, scannable from a printout)."""
    return segno.make(folder_no, error="m", micro=False).svg_data_uri(scale=4, border=2)


def checklist_pdf(loan: Loan) -> bytes:
    loan_file, sections = selectors.checklist_for_loan(loan)
    if loan_file is None:
        raise Http404("the loan has no archive file yet")
    items = [item for _v, _l, rows in sections for item in rows]
    return render_pdf("pdf/archive_checklist.html", {
        "loan": loan, "loan_file": loan_file, "folder": loan_file.folder, "sections": sections,
        "qr": folder_qr(loan_file.folder.folder_no),
        "contract": loan.contracts.filter(kind="loan").first(),
        "received": sum(1 for i in items if i.received), "total": len(items),
        "printed_at": timezone.localtime(),
    })


def lending_register_pdf(start: date, end: date) -> bytes:
    return render_pdf("pdf/archive_lending_register.html", {
        "rows": list(selectors.lending_register(start, end)), "start": start, "end": end,
        "printed_at": timezone.localtime(),
    })


def destruction_register_pdf(start: date, end: date) -> bytes:
    return render_pdf("pdf/archive_destruction_register.html", {
        "rows": list(selectors.destruction_register(start, end)), "start": start, "end": end,
        "printed_at": timezone.localtime(),
    })
