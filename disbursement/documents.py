"""Printed documents of the disbursement stage (rendering lives here, never in a view)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from applications.catalog import REPAYMENT_METHOD_LABELS
from applications.models import Loan
from loancenter.lib.errors import InvalidState
from loancenter.lib.money import amount_in_words, fmt_rate
from loancenter.lib.pdf import render_pdf
from loancenter.models import PiiView


def check_receipt_exists(loan: Loan) -> None:
    """The receipt (借据) exists from ``prepare_receipt`` on (ready to disburse, then active…): before, there is none."""
    if getattr(loan, "receipt", None) is None:
        raise InvalidState(_("The loan receipt is prepared by the reviewer before disbursement; this loan (%(status)s) "
                             "has none yet.") % {"status": loan.get_status_display()})


def receipt_pdf(loan: Loan, *, viewer) -> bytes:
    """The loan receipt (借据), rule 15: value date, maturity date, rate and the disbursement stamp.

    The borrower signs it, so it carries the full ID number; each rendering is recorded as a view of it (SPEC §4).
    """
    check_receipt_exists(loan)
    receipt = loan.receipt
    PiiView.objects.create(viewer=viewer, customer=loan.customer, surface="pdf")
    return render_pdf("pdf/receipt.html", {
        "loan": loan, "receipt": receipt, "contract": loan.contracts.filter(kind="loan").first(),
        "amount_words": amount_in_words(receipt.amount), "rate_pct": fmt_rate(receipt.annual_rate),
        "method_label": REPAYMENT_METHOD_LABELS.get(receipt.repayment_method, receipt.repayment_method),
        "id_number": loan.customer.id_number,
    })
