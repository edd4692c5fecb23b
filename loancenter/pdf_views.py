"""PDF addresses. They accept the session or an API token (SPEC §8), and the loan's data scope applies."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse

from applications.documents import investigation_report_pdf
from applications.selectors import access_loan
from disbursement.documents import contract_pdf, receipt_pdf
from loancenter.auth import request_user
from loancenter.lib.errors import DomainError
from loancenter.refusals import recording
from postloan.documents import collection_notice_pdf
from review.documents import approval_form_pdf


def _loan_pdf(render: Callable, filename: str, action: str):
    """A loan's paper: the scope first (404), then whether the paper exists in the loan's state (409 with the reason,
    recorded like any refusal), then the PDF. ``render(loan, viewer=…)``."""

    def view(request, pk: int):
        user = request_user(request)
        if user is None:
            if request.headers.get("Authorization"):
                return HttpResponse(status=401)
            return redirect_to_login(request.get_full_path())
        loan = access_loan(user, pk, action=action)
        try:
            with recording(action, actor=user, loan_id=loan.pk):
                content = render(loan, viewer=user)
        except DomainError as error:
            return HttpResponse(error.message, status=error.status, content_type="text/plain; charset=utf-8")
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{filename.format(no=loan.application_no)}"'
        return response

    view.login_exempt = True  # authenticated above: session or token
    return view


receipt = _loan_pdf(receipt_pdf, "receipt-{no}.pdf", "receipt_pdf")
contract = _loan_pdf(contract_pdf, "contract-{no}.pdf", "contract_pdf")
approval_form = _loan_pdf(approval_form_pdf, "approval-{no}.pdf", "approval_form_pdf")
investigation_report = _loan_pdf(investigation_report_pdf, "investigation-{no}.pdf", "investigation_report_pdf")
collection_notice = _loan_pdf(collection_notice_pdf, "collection-notice-{no}.pdf", "collection_notice_pdf")
