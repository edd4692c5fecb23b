"""The collection notice (催收通知书) as a PDF."""

from __future__ import annotations

from loancenter.lib.dates import today
from loancenter.lib.pdf import render_pdf
from postloan.collections import overdue_amounts


def collection_notice_pdf(loan) -> bytes:
    on = today()
    installments = list(loan.installments.filter(paid_off_on__isnull=True, due_date__lt=on).order_by("number"))
    return render_pdf("pdf/collection_notice.html", {
        "loan": loan, "on": on, "installments": installments, "overdue": overdue_amounts(loan, on),
        "officer": loan.marketing_officer,
    })
