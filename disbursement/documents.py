"""Printed documents of the disbursement stage (rendering lives here, never in a view)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from applications.catalog import LPR_RATE_TYPES, RATE_TYPE_LABELS, REPAYMENT_METHOD_LABELS, REPRICING_RULE_LABELS
from applications.lpr.rules import spread_words
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
        "id_number": loan.customer.id_number, "pricing": pricing_terms(loan),
    })


def pricing_terms(loan: Loan) -> dict | None:
    """How the loan's papers state an LPR-linked rate (SPEC §15): "5-year LPR 3.50% 减 20 个基点", re-set each anniversary
    or each 1 January; None for a fixed rate."""
    if loan.rate_type not in LPR_RATE_TYPES or loan.spread_bp is None:
        return None
    return {"rate_type": RATE_TYPE_LABELS[loan.rate_type], "lpr_pct": fmt_rate(loan.lpr_at_approval),
            "lpr_date": loan.lpr_published_on, "spread": spread_words(loan.spread_bp),
            "repricing": REPRICING_RULE_LABELS.get(loan.repricing_rule, "")}


def check_contract_signed(loan: Loan) -> None:
    if not loan.contracts.filter(kind="loan").exists():
        raise InvalidState(_("The loan contract is signed face to face after the approval; this loan (%(status)s) has "
                             "none yet.") % {"status": loan.get_status_display()})


def contract_pdf(loan: Loan, *, viewer) -> bytes:
    """The loan contract's terms page as signed: amount, term, rate (for an LPR-linked loan the LPR, the spread in
    basis points and the repricing date, as Chinese loan contracts state them), repayment method."""
    check_contract_signed(loan)
    PiiView.objects.create(viewer=viewer, customer=loan.customer, surface="pdf")
    return render_pdf("pdf/contract.html", {
        "loan": loan, "contract": loan.contracts.filter(kind="loan").first(),
        "amount_words": amount_in_words(loan.approved_amount), "rate_pct": fmt_rate(loan.annual_rate),
        "method_label": REPAYMENT_METHOD_LABELS.get(loan.approved_method, loan.approved_method),
        "id_number": loan.customer.id_number, "pricing": pricing_terms(loan),
    })
