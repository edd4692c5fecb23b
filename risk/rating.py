"""The rating computed when the investigation completes (SPEC §15, §16.30): the verified facts of the loan and the
structured result of the borrower's latest pre-loan credit report (postloan.bureau, SPEC §16.22)."""

from __future__ import annotations

from django.db.models import Q

from applications.models import Loan
from applications.pricing.services import Bureau, rate_loan
from postloan.monitoring_models import CreditQuery


def latest_bureau(loan: Loan) -> Bureau:
    """The latest pre-loan query on the borrower (for this loan, or for none in particular); none: "no report"."""
    query = (CreditQuery.objects.filter(customer_id=loan.customer_id, purpose="pre_loan")
             .filter(Q(loan_id=loan.pk) | Q(loan__isnull=True)).order_by("-queried_at", "-id").first())
    if query is None:
        return Bureau()
    return Bureau(overdue_count_24m=query.overdue_count_24m, worst_dpd=query.worst_dpd, queries_6m=query.queries_6m,
                  new_debt=query.new_debt)


def rate_on_investigation(sender, *, loan: Loan, **kwargs) -> None:
    rate_loan(loan, bureau=latest_bureau(loan))
