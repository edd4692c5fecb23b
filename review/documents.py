"""The approval form (审批表): the decision that was taken — by whom, when, on what terms and why — in words."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from applications.catalog import REPAYMENT_METHOD_LABELS
from applications.models import Loan
from applications.pricing.services import reason_text
from loancenter.lib.errors import InvalidState
from loancenter.lib.money import fmt_rate
from loancenter.lib.pdf import render_pdf

# The approver's (and the branch's) decisions, as the form names them.
DECISIONS = {
    "approve": gettext_lazy("Approved"),
    "reject": gettext_lazy("Rejected"),
    "escalate": gettext_lazy("Escalated to the branch"),
    "return_to_review": gettext_lazy("Returned to review"),
}


def _decisions(loan: Loan) -> list:
    return list(loan.audit_entries.filter(action__in=DECISIONS).select_related("actor").order_by("at", "id"))


def check_approval_form_exists(loan: Loan, entries: list | None = None) -> None:
    """The form records a decision: it exists once the approver (or the branch) has decided something."""
    if not (entries if entries is not None else _decisions(loan)):
        raise InvalidState(_("The approval form records the approver's decision; this loan (%(status)s) has none yet.")
                           % {"status": loan.get_status_display()})


def _terms(amount, term_months, rate, method) -> str:
    if not amount:
        return ""
    rate_text = fmt_rate(rate) if rate not in (None, "") else ""
    parts = [f"{Decimal(amount):,.2f}", _("%(n)s months") % {"n": term_months},
             rate_text, str(REPAYMENT_METHOD_LABELS.get(method, method or ""))]
    return " · ".join(p for p in parts if p)


def approval_form_pdf(loan: Loan, *, viewer=None) -> bytes:
    entries = _decisions(loan)
    check_approval_form_exists(loan, entries)
    decisions = []
    for entry in entries:
        payload = entry.payload or {}
        decisions.append({
            "label": DECISIONS[entry.action], "by": entry.actor.display if entry.actor else "",
            "at": timezone.localtime(entry.at), "reason": entry.reason,
            "terms": _terms(payload.get("amount"), payload.get("term_months"), payload.get("annual_rate"),
                            payload.get("repayment_method")) if entry.action == "approve" else "",
        })
    return render_pdf("pdf/approval_form.html", {
        "loan": loan, "investigation": loan.investigations.prefetch_related("investigators").first(),
        "contract": loan.contracts.filter(kind="loan").first(),
        "decision": decisions[-1], "decisions": decisions,
        "requested": _terms(loan.amount, loan.term_months, None, loan.repayment_method),
        "proposed": _terms(loan.proposed_amount, loan.proposed_term_months, loan.proposed_rate, loan.proposed_method),
        "approved": _terms(loan.approved_amount, loan.approved_term_months, loan.annual_rate, loan.approved_method),
        "rating_reasons": [reason_text(r) for r in loan.rating_reasons or []],
        "overrides": list(loan.rate_overrides.order_by("at")),
    })
