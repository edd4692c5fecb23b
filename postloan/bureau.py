"""The credit-bureau register (征信查询登记, SPEC §12, §16.22): every query with its written authorisation, purpose, who
asked and when, and the structured result the scorecard reads; the manager's queries per officer.

The authorisation is a file: the id of a current credit-report authorisation (``credit_authorization``) of the customer
queried (the borrower, or the guarantor for a guarantor check), in their folder or in the files of one of their loans,
that the caller may see. Anything else (none, not a number, unknown, another customer's, another paper, a superseded
or voided version, a loan file outside the caller's scope) is refused with 400 ``no_authorisation``, nothing recorded.

The report, when one is attached (a summary alone is allowed), is a file too, by the same rule: a current credit
report (``credit_report``) of the customer queried that the caller may see; anything else is 400
``bad_report_document``, nothing recorded.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.files.models import DocumentFile
from applications.models import Customer, Loan
from applications.selectors import loans_visible_to
from applications.workflow import audit
from loancenter import posts as P
from loancenter.lib.errors import RuleViolation
from loancenter.refusals import recorded
from postloan.monitoring_models import CreditQuery

QUERY_POSTS = (P.MARKETING, P.INVESTIGATOR, P.REVIEWER, P.GENERAL)
PURPOSES = dict(CreditQuery.PURPOSES)
AUTHORISATION_CODE = "credit_authorization"
REPORT_CODE = "credit_report"


def authorisations(user, customer_id: int) -> list[DocumentFile]:
    """The customer's current credit-report authorisations ``user`` may see, newest first (``current_files``)."""
    return current_files(user, customer_id, AUTHORISATION_CODE)


def reports(user, customer_id: int) -> list[DocumentFile]:
    """The customer's current credit reports ``user`` may see, newest first (``current_files``)."""
    return current_files(user, customer_id, REPORT_CODE)


def current_files(user, customer_id: int, code: str) -> list[DocumentFile]:
    """The customer's current files of one paper ``user`` may see, newest first: per folder (the customer's, or one
    loan's files) the newest version that is not voided, if it is active (a void asked for puts it in doubt); a
    loan's file only when the loan is in the caller's scope."""
    rows = list(DocumentFile.objects.filter(customer_id=customer_id, code=code).select_related("loan")
                .exclude(state=DocumentFile.State.VOIDED).order_by("loan_id", "-version", "-id"))
    visible = set(loans_visible_to(user).filter(pk__in={r.loan_id for r in rows if r.loan_id is not None})
                  .values_list("pk", flat=True))
    current, seen = [], set()
    for row in rows:
        if row.loan_id in seen:
            continue  # an older version: superseded by the newer one just read
        seen.add(row.loan_id)
        if row.state == DocumentFile.State.ACTIVE and (row.loan_id is None or row.loan_id in visible):
            current.append(row)
    return sorted(current, key=lambda r: (r.uploaded_at, r.pk), reverse=True)


def _file_id(value) -> int | None:
    """A file's id as sent (a number, or its digits as text); None for anything else (blank, "１２", "12.5", …)."""
    text = str(value if value is not None else "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def _authorisation(user, customer_id: int, value) -> DocumentFile:
    pk = _file_id(value)
    document = None
    if pk is not None:
        document = next((d for d in authorisations(user, customer_id) if d.pk == pk), None)
    if document is None:
        raise RuleViolation("no_authorisation", _(
            "A credit report is queried only with the customer's written authorisation: choose their current "
            "credit-report authorisation from their files (upload it first if it is not there)."),
            field="authorisation_document")
    return document


def _report(user, customer_id: int, value) -> DocumentFile | None:
    """The report attached to a query: None when nothing is sent (a summary alone is allowed), else the customer's
    current credit report with that id (``reports``), or 400 ``bad_report_document``."""
    if value is None or not str(value).strip():
        return None
    pk = _file_id(value)
    document = next((d for d in reports(user, customer_id) if d.pk == pk), None) if pk is not None else None
    if document is None:
        raise RuleViolation("bad_report_document", _(
            "The report must be the customer's current credit report from their files (upload it first if it is "
            "not there), or leave it empty and write the summary."), field="report_document")
    return document


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
def credit_query_record(*, customer_id: int, actor, purpose: str, authorisation_document="", summary: str = "",
                        loan_id: int | None = None, overdue_count_24m=None, worst_dpd=None, queries_6m=None,
                        new_debt=None, report_document="") -> CreditQuery:
    """Record a credit-bureau query on a customer in the caller's scope (the caller checked the scope: 404).

    ``authorisation_document``: the id of the customer's current credit-report authorisation (``authorisations``).
    ``report_document``: optional, the id of the customer's current credit report (``reports``)."""
    if purpose not in PURPOSES:
        raise RuleViolation("purpose", _("The purpose is pre_loan, post_loan or guarantor."), field="purpose")
    chosen = _authorisation(actor, customer_id, authorisation_document)  # refused before anything else is read
    report = _report(actor, customer_id, report_document)
    values = {"overdue_count_24m": _count(overdue_count_24m, "overdue_count_24m"),
              "worst_dpd": _count(worst_dpd, "worst_dpd", 36_600), "queries_6m": _count(queries_6m, "queries_6m"),
              "new_debt": _money(new_debt, "new_debt")}
    with transaction.atomic():
        customer = Customer.objects.get(pk=customer_id)
        # Read again with the files' rows locked (in id order): a void decided meanwhile is seen, or waits for the
        # query.
        list(DocumentFile.objects.select_for_update().filter(pk__in=[chosen.pk] + ([report.pk] if report else []))
             .order_by("pk").values_list("pk", flat=True))
        document = _authorisation(actor, customer_id, chosen.pk)
        report = _report(actor, customer_id, report.pk if report else None)
        loan = None
        if loan_id is not None:
            loan = Loan.objects.filter(pk=loan_id).filter(customer=customer).first() or Loan.objects.filter(
                pk=loan_id, guarantors__customer=customer).first()
            if loan is None:
                raise RuleViolation("loan", _("The loan is not this customer's."), field="loan")
        query = CreditQuery.objects.create(customer=customer, loan=loan, purpose=purpose,
                                           authorisation_document=document, queried_by=actor,
                                           summary=(summary or "").strip(),
                                           report_document=report, **values)
        audit(actor=actor, action="credit_query", loan=loan, obj=query,
              payload={"customer": customer.pk, "purpose": purpose, "authorisation": document.pk,
                       "authorisation_version": document.version,
                       **({"report": report.pk, "report_version": report.version} if report else {})})
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

