"""The investigation report (调查报告), rule 6."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _

from applications.models import Loan
from loancenter.lib.pdf import render_pdf


def investigation_report_pdf(loan: Loan, *, viewer=None) -> bytes:
    investigation = loan.investigations.prefetch_related("investigators").first()
    if investigation is None or investigation.completed_at is None:
        raise Http404("no completed investigation")
    findings = [
        (_("Identity"), investigation.identity_verified), (_("Income"), investigation.income_verified),
        (_("Purpose"), investigation.purpose_verified), (_("Guarantors"), investigation.guarantors_verified),
        (_("Collateral"), investigation.collateral_verified),
    ]
    return render_pdf("pdf/investigation_report.html", {
        "loan": loan, "investigation": investigation, "findings": findings,
        "contract": loan.contracts.filter(kind="loan").first(),
    })
