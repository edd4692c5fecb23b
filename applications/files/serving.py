"""Serving a stored file: only after the reader's scope was checked, recorded, never sniffable (SPEC §11)."""

from __future__ import annotations

from django.http import FileResponse
from django.utils.translation import gettext as _

from applications.files.inspect import ACCEPTED
from applications.files.models import DocumentFile, document_storage
from applications.files.services import document_opened
from loancenter.lib.errors import DomainError
from loancenter.refusals import record_refusal


def _headers(response) -> FileResponse:
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def file_response(*, reader, document: DocumentFile, inline: bool, surface: str) -> FileResponse:
    """The file's bytes, streamed from storage. Inline only for a type the server itself checked (PDF, JPEG, PNG);
    anything else — and every download asked for as one — is an attachment. The opening is recorded."""
    inline = inline and document.content_type in ACCEPTED
    disposition = "inline" if inline else "attachment"
    handle = document_storage().open(document.storage_name, "rb")
    response = FileResponse(handle, content_type=document.content_type if inline else "application/octet-stream",
                            as_attachment=not inline, filename=document.name)
    document_opened(reader=reader, document=document, surface=surface, disposition=disposition)
    return _headers(response)


def preview_response(document: DocumentFile):
    """The reduced preview (a JPEG we made ourselves), or None while the task has not made it yet."""
    if not document.preview_name:
        return None
    response = FileResponse(document_storage().open(document.preview_name, "rb"), content_type="image/jpeg")
    return _headers(response)


def too_large(request, *, loan_id: int | None) -> DomainError:
    """The 413 refusal of an upload over ``DOCUMENT_MAX_BYTES`` (the rest of the body was read and discarded)."""
    from django.conf import settings

    error = DomainError("file_too_large", _("The file is larger than %(mb)s MB; nothing was stored.")
                        % {"mb": f"{settings.DOCUMENT_MAX_BYTES / (1024 * 1024):g}"}, field="file")
    error.status = 413
    record_refusal(actor=request.user, action="document_upload", loan_id=loan_id, error=error)
    return error
