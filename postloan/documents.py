"""The collection notice (催收通知书) as a PDF."""

from __future__ import annotations

from django.utils.translation import gettext as _

from applications.models import Status
from loancenter.lib.dates import today
from loancenter.lib.errors import InvalidState
from loancenter.lib.pdf import render_pdf
from postloan.collections import overdue_amounts, overdue_installments


def check_collection_notice_exists(loan, on) -> None:
    """A collection notice is written to the borrower of an active loan that is overdue, and only then."""
    if loan.status != Status.ACTIVE:
        raise InvalidState(_("A collection notice is for an active loan that is overdue; this loan is %(status)s.")
                           % {"status": loan.get_status_display()})
    if loan.days_past_due_on(on) <= 0:
        raise InvalidState(_("A collection notice is for an overdue loan; nothing on this loan is overdue."))


def collection_notice_pdf(loan, *, viewer=None) -> bytes:
    on = today()
    check_collection_notice_exists(loan, on)
    return render_pdf("pdf/collection_notice.html", {
        "loan": loan, "on": on, "installments": overdue_installments(loan, on), "overdue": overdue_amounts(loan, on),
        "days_past_due": loan.days_past_due_on(on),
        "officer": loan.marketing_officer,
    })
