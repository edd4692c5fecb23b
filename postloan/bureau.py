"""The credit-bureau register (征信查询登记, SPEC §12, §16.22): every query with its written authorisation, purpose, who
asked and when, and the structured result the scorecard reads; the manager's queries per officer.

The authorisation is a reference to the customer's document (its number in the folder or the paper's register number):
the documents feature (issue 17) was not on main when this was built, so the reference is checked to be present, not
looked up (docs/decisions.md). A query without one is refused with 400 ``no_authorisation``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.models import Customer, Loan
from applications.workflow import audit
from loancenter import posts as P
from loancenter.lib.errors import RuleViolation
from loancenter.refusals import recorded
from postloan.monitoring_models import CreditQuery

QUERY_POSTS = (P.MARKETING, P.INVESTIGATOR, P.REVIEWER, P.GENERAL)
PURPOSES = dict(CreditQuery.PURPOSES)


def _count(value, field: str, maximum: int = 100_000) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise RuleViolation(field, _("Enter a whole number."), field=field) from None
    if not 0 <= number <= maximum:
        raise RuleViolation(field, _("Enter a number from 0 to %(max)s.") % {"max": maximum}, field=field)
    return number


def _money(value, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise RuleViolation(field, _("Enter an amount."), field=field) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12") or amount != amount.quantize(Decimal("0.01")):
        raise RuleViolation(field, _("Enter an amount of at least 0 with at most two decimals."), field=field)
    return amount


@recorded("credit_query", posts=QUERY_POSTS)
def credit_query_record(*, customer_id: int, actor, purpose: str, authorisation_document: str = "", summary: str = "",
                        loan_id: int | None = None, overdue_count_24m=None, worst_dpd=None, queries_6m=None,
                        new_debt=None, report_document: str = "") -> CreditQuery:
    """Record a credit-bureau query on a customer in the caller's scope (the caller checked the scope: 404)."""
    if purpose not in PURPOSES:
        raise RuleViolation("purpose", _("The purpose is pre_loan, post_loan or guarantor."), field="purpose")
    reference = (authorisation_document or "").strip()
    if not reference:
        raise RuleViolation("no_authorisation", _("A credit report is queried only with the customer's written "
                                                  "authorisation; name the authorisation document."),
                            field="authorisation_document")
    values = {"overdue_count_24m": _count(overdue_count_24m, "overdue_count_24m"),
              "worst_dpd": _count(worst_dpd, "worst_dpd", 36_600), "queries_6m": _count(queries_6m, "queries_6m"),
              "new_debt": _money(new_debt, "new_debt")}
    with transaction.atomic():
        customer = Customer.objects.get(pk=customer_id)
        loan = None
        if loan_id is not None:
            loan = Loan.objects.filter(pk=loan_id).filter(customer=customer).first() or Loan.objects.filter(
                pk=loan_id, guarantors__customer=customer).first()
            if loan is None:
                raise RuleViolation("loan", _("The loan is not this customer's."), field="loan")
        query = CreditQuery.objects.create(customer=customer, loan=loan, purpose=purpose,
                                           authorisation_document=reference[:100], queried_by=actor,
                                           summary=(summary or "").strip(),
                                           report_document=(report_document or "").strip()[:100], **values)
        audit(actor=actor, action="credit_query", loan=loan, obj=query,
              payload={"customer": customer.pk, "purpose": purpose, "authorisation": reference})
    return query


def customer_in_scope(user, customer_id) -> Customer:
    from applications.selectors import access_customer

    return access_customer(user, customer_id)


def queries_per_officer(start: date, end: date) -> list[dict]:
    """The manager's figure: queries per officer between two local dates (an unusual number is a warning)."""
    tz = timezone.get_current_timezone()
    lo = timezone.make_aware(datetime.combine(start, time.min), tz)
    hi = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz)
    return list(CreditQuery.objects.filter(queried_at__gte=lo, queried_at__lt=hi)
                .values("queried_by__username", "queried_by__first_name", "queried_by__last_name")
                .annotate(n=Count("id")).order_by("-n", "queried_by__username"))

