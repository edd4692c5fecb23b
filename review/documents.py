"""The approval form (审批表)."""

from __future__ import annotations

from applications.models import Loan
from loancenter.lib.pdf import render_pdf

DECISION_ACTIONS = ("pass_review", "return_to_marketing", "approve", "reject", "return_to_review", "escalate")


def approval_form_pdf(loan: Loan) -> bytes:
    return render_pdf("pdf/approval_form.html", {
        "loan": loan, "investigation": loan.investigations.prefetch_related("investigators").first(),
        "contract": loan.contracts.filter(kind="loan").first(),
        "decisions": loan.audit_entries.filter(action__in=DECISION_ACTIONS).exclude(reason=""),
    })
