"""Browser pages of documents: the loan's gallery and upload form, opening a file, voiding, the manager's log."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from applications.files import services
from applications.files.models import DocumentDownload, DocumentFile
from applications.files.rules import PAPER_POSTS, UPLOAD_POSTS, loan_codes
from applications.files.selectors import VOIDED_READERS, access_document, files_of_loan, gallery
from applications.files.serving import file_response, preview_response, too_large
from applications.files.uploads import upload_too_large
from applications.selectors import access_loan
from loancenter import posts as P
from loancenter.lib.errors import DomainError
from loancenter.lib.params import parse_id
from loancenter.refusals import check_caller
from loancenter.rules import require_post

ACCEPT = "image/jpeg,image/png,application/pdf"


def _codes_for(user, loan) -> list[tuple[str, str]]:
    """The codes this user files for this loan (the select of the upload form), with their labels."""
    from applications.catalog import document_label
    from applications.files.rules import _BORROWER_PAPERS

    return [(code, document_label(code)) for code in loan_codes(loan.product)
            if set(user.posts) & PAPER_POSTS.get(code, _BORROWER_PAPERS)]


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def document_json(document: DocumentFile) -> dict:
    return {"id": document.pk, "code": document.code, "label": document.label, "version": document.version,
            "name": document.name, "content_type": document.content_type, "pages": document.pages,
            "file_url": reverse("document-file", args=[document.pk]),
            "preview_url": reverse("document-preview", args=[document.pk]) if document.preview_name else ""}


def loan_documents(request, pk: int):
    """The loan's papers: gallery by code (voided versions only for the archive), upload form for who files papers."""
    loan = access_loan(request.user, pk, action="documents" if request.method == "GET" else "document_upload")
    if request.method == "POST":
        return _upload(request, loan)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    voided = []
    if request.user.has_any_post(*VOIDED_READERS):
        voided = list(files_of_loan(loan).filter(state=DocumentFile.State.VOIDED))
    can_upload = request.user.has_any_post(*UPLOAD_POSTS)
    return render(request, "applications/loan_documents.html", {
        "loan": loan, "gallery": gallery(loan), "voided": voided, "can_upload": can_upload,
        "codes": _codes_for(request.user, loan) if can_upload else [], "accept": ACCEPT,
        "can_decide_void": request.user.has_any_post(*services.VOID_APPROVERS),
    })


def _upload(request, loan):
    try:
        check_caller(services.document_upload, request.user, loan_id=loan.pk)
    except DomainError as error:
        if _wants_json(request):
            return JsonResponse(error.as_dict(), status=error.status)
        raise PermissionDenied(error.message) from None
    code, files = request.POST.get("code", ""), request.FILES.getlist("file")
    if upload_too_large(request):
        error = too_large(request, loan_id=loan.pk)
        if _wants_json(request):
            return JsonResponse(error.as_dict(), status=413)
        messages.error(request, error.message)
        return redirect("loan-documents", loan.pk)
    done, errors = [], []
    for upload in files or [None]:
        try:
            document = services.document_upload(actor=request.user, loan_id=loan.pk, code=code, upload=upload,
                                                surface="browser")
        except DomainError as error:
            errors.append((getattr(upload, "name", ""), error))
        else:
            done.append(document)
    if _wants_json(request):
        if errors:
            error = errors[0][1]
            return JsonResponse(error.as_dict(), status=error.status)
        return JsonResponse({"documents": [document_json(d) for d in done]}, status=201)
    for name, error in errors:
        messages.error(request, f"{name}: {error.message}" if name else error.message)
    if done:
        messages.success(request, _("%(n)s file(s) uploaded.") % {"n": len(done)})
    return redirect("loan-documents", loan.pk)


def document_file(request, pk: int):
    """Open a file in the browser's own viewer (a checked PDF or image), or download it (``?download=1``)."""
    document = access_document(request.user, pk)
    return file_response(reader=request.user, document=document, surface="browser",
                         inline=request.GET.get("download") != "1")


def document_preview(request, pk: int):
    response = preview_response(access_document(request.user, pk, action="document_preview"))
    if response is None:
        raise Http404
    return response


@require_POST
def document_void(request, pk: int):
    document = access_document(request.user, pk, action="document_void_request")
    try:
        services.document_void_request(actor=request.user, document_id=document.pk,
                                       reason=request.POST.get("reason", ""))
    except DomainError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from None
        messages.error(request, error.message)
    else:
        messages.success(request, _("Voiding asked; a second person (archivist or manager) decides."))
    return redirect("loan-documents", document.loan_id) if document.loan_id else redirect(
        "customer-detail", document.customer_id)


@require_POST
def document_void_decide(request, pk: int):
    document = access_document(request.user, pk, action="document_void_decide")
    try:
        services.document_void_decide(actor=request.user, document_id=document.pk,
                                      approve=request.POST.get("decision") == "approve")
    except DomainError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from None
        messages.error(request, error.message)
    return redirect("loan-documents", document.loan_id) if document.loan_id else redirect(
        "customer-detail", document.customer_id)


def document_downloads(request):
    """The manager's log of every opened file (who, when, which file), beside the PII views (SPEC §11)."""
    try:
        require_post(request.user, P.MANAGER)
    except DomainError as error:
        raise PermissionDenied(error.message) from None
    rows = DocumentDownload.objects.select_related("reader", "document", "document__customer").order_by("-at", "-id")
    reader = request.GET.get("reader", "").strip()
    if reader:
        rows = rows.filter(reader__username=reader)
    loan_id = parse_id(request.GET.get("loan", ""))
    if loan_id is not None:
        rows = rows.filter(document__loan_id=loan_id)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "security/document_downloads.html", {"page": page, "reader": reader, "loan": loan_id})
