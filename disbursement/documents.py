"""Printed documents of the disbursement stage (rendering lives here, never in a view)."""

from __future__ import annotations

from django.http import Http404

from applications.catalog import REPAYMENT_METHOD_LABELS
from applications.models import Loan
from loancenter.lib.money import amount_in_words, fmt_pct
from loancenter.lib.pdf import render_pdf


def receipt_pdf(loan: Loan) -> bytes:
    """The loan receipt (借据), rule 15: value date, maturity date, rate and the disbursement stamp."""
    receipt = getattr(loan, "receipt", None)
    if receipt is None:
        raise Http404("no receipt yet")
    return render_pdf("pdf/receipt.html", {
        "loan": loan, "receipt": receipt, "contract": loan.contracts.filter(kind="loan").first(),
        "amount_words": amount_in_words(receipt.amount), "rate_pct": fmt_pct(receipt.annual_rate, places=2),
        "method_label": REPAYMENT_METHOD_LABELS.get(receipt.repayment_method, receipt.repayment_method),
    })
