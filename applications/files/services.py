"""Operations on documents: upload (inspect, store, version), open (record), void (two people) — SPEC §11, §16.7–9."""

from __future__ import annotations

import logging
import os
import uuid

from django.core.files import File
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from applications.files import rules
from applications.files.inspect import inspect_upload
from applications.files.models import DocumentDownload, DocumentFile, document_storage
from applications.models import Customer, Loan
from applications.workflow import audit
from loancenter import posts as P
from loancenter.lib.errors import Forbidden, InvalidState, RuleViolation
from loancenter.refusals import note_loan, recorded
from loancenter.rules import check_maker_checker

log = logging.getLogger(__name__)

# The posts that confirm a void (SPEC §16.8): the archive keeps the folder, the manager oversees it.
VOID_APPROVERS = (P.ARCHIVIST, P.MANAGER)


def _clean_name(name: str) -> str:
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    return "".join(ch for ch in base if ch.isprintable())[:200] or "file"


@recorded("document_upload", posts=rules.UPLOAD_POSTS)
def document_upload(*, actor, code: str, upload, loan_id: int | None = None, customer_id: int | None = None,
                    surface: str = "api") -> DocumentFile:
    """Store one uploaded file as the next version of ``code`` in a loan's files or a customer's folder.

    The caller has been found in scope (``access_loan``/``access_customer``). Everything that refuses happens before
    a byte is stored: the code, the post that handles that paper, the bytes (``inspect``). The bytes go to storage
    from the upload's temporary file in chunks; the row is written under the loan's (or customer's) row lock, so that
    two uploads of one code get two versions.
    """
    code = str(code or "").strip()
    if loan_id is not None:
        loan = Loan.objects.select_related("product").get(pk=loan_id)
        rules.check_code(code, rules.loan_codes(loan.product))
        customer_id = loan.customer_id
    else:
        loan = None
        rules.check_customer_code(code)
    rules.check_handles_paper(actor, code)
    if upload is None:
        raise RuleViolation("file_required", _("Choose a file to upload."), field="file")
    inspected = inspect_upload(upload)
    name = _clean_name(getattr(upload, "name", ""))
    if inspected.converted_from:
        name = os.path.splitext(name)[0] + ".jpg"
    storage = document_storage()
    stored = storage.save(f"{customer_id}/{uuid.uuid4().hex}.{inspected.extension}", File(inspected.file))
    try:
        with transaction.atomic():
            if loan is not None:
                loan = Loan.objects.select_for_update().get(pk=loan.pk)
                siblings = DocumentFile.objects.filter(loan=loan, code=code)
            else:
                Customer.objects.select_for_update().filter(pk=customer_id).first()
                siblings = DocumentFile.objects.filter(customer_id=customer_id, loan__isnull=True, code=code)
            version = (siblings.aggregate(v=Max("version"))["v"] or 0) + 1
            document = DocumentFile.objects.create(
                customer_id=customer_id, loan=loan, code=code, version=version, name=name, storage_name=stored,
                sha256=inspected.sha256, size=inspected.size, content_type=inspected.content_type,
                pages=inspected.pages, converted_from=inspected.converted_from, uploaded_by=actor,
            )
            audit(actor=actor, action="document_upload", loan=loan, obj=document, payload={
                "code": code, "version": version, "name": name, "sha256": inspected.sha256, "size": inspected.size,
                "content_type": inspected.content_type, "pages": inspected.pages, "surface": surface,
                "customer": customer_id,
            })
            transaction.on_commit(lambda: queue_preview(document.pk))
    except BaseException:
        storage.delete(stored)
        raise
    return document


def queue_preview(document_id: int) -> None:
    from applications.files.tasks import make_document_preview

    try:
        make_document_preview.delay(document_id)
    except Exception:  # the broker is down: the file is stored; `verify_documents --previews` makes it later
        log.warning("preview of document %s not queued", document_id, exc_info=True)


def document_opened(*, reader, document: DocumentFile, surface: str, disposition: str) -> None:
    """Every opening of a stored file is recorded (SPEC §11): who, when, which file, how."""
    DocumentDownload.objects.create(reader=reader, document=document, surface=surface, disposition=disposition)


def _locked(document_id: int) -> DocumentFile:
    document = DocumentFile.objects.select_for_update().get(pk=document_id)
    note_loan(document.loan_id)
    return document


@recorded("document_void_request", loan=("document_id", DocumentFile), posts=rules.UPLOAD_POSTS)
@transaction.atomic
def document_void_request(*, actor, document_id: int, reason: str) -> DocumentFile:
    """A misfiled version (another customer's ID card) is proposed for voiding, with a reason (SPEC §16.8)."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation("reason_required", _("Give the reason for voiding this file."), field="reason")
    document = _locked(document_id)
    if document.state != DocumentFile.State.ACTIVE:
        raise InvalidState(_("This file is already voided or waiting for a void decision."))
    document.request_void(by=actor, reason=reason[:2000])
    document.save(update_fields=["state", "void_reason", "void_requested_by", "void_requested_at"])
    audit(actor=actor, action="document_void_request", loan=document.loan, obj=document,
          payload={"code": document.code, "version": document.version}, reason=reason)
    return document


@recorded("document_void_decide", loan=("document_id", DocumentFile), posts=VOID_APPROVERS)
@transaction.atomic
def document_void_decide(*, actor, document_id: int, approve: bool) -> DocumentFile:
    """A second person (archivist or manager, never the one who asked) confirms or refuses the void."""
    document = _locked(document_id)
    if document.state != DocumentFile.State.VOID_REQUESTED:
        raise InvalidState(_("No void of this file is waiting for a decision."))
    check_maker_checker(document.void_requested_by_id, actor, what=_("asked to void this file"))
    if approve:
        document.approve_void(by=actor)
        fields = ["state", "voided_by", "voided_at"]
    else:
        document.reject_void(by=actor)
        fields = ["state", "void_reason", "void_requested_by", "void_requested_at"]
    document.save(update_fields=fields)
    audit(actor=actor, action="document_void_approve" if approve else "document_void_reject", loan=document.loan,
          obj=document, payload={"code": document.code, "version": document.version})
    return document


def check_may_upload(user) -> None:
    """The upload form is shown only to posts that file papers."""
    if not user.has_any_post(*rules.UPLOAD_POSTS):
        raise Forbidden("post_required", _("Only staff who file papers upload documents."))
