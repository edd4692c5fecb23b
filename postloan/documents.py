"""The collection notice (催收通知书) as a PDF."""

from __future__ import annotations

from loancenter.lib.dates import today
from loancenter.lib.pdf import render_pdf
from postloan.collections import overdue_amounts, overdue_installments


def collection_notice_pdf(loan) -> bytes:
    on = today()
    return render_pdf("pdf/collection_notice.html", {
        "loan": loan, "on": on, "installments": overdue_installments(loan, on), "overdue": overdue_amounts(loan, on),
        "days_past_due": loan.days_past_due_on(on),
        "officer": loan.marketing_officer,
    })
