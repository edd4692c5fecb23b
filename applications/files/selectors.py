"""Reading documents within the reader's data scope (SPEC §4, §11): outside it a file does not exist (404)."""

from __future__ import annotations

from collections import OrderedDict

from django.db.models import Q, QuerySet
from django.http import Http404

from applications.files.models import DocumentFile
from applications.files.rules import loan_codes
from applications.selectors import access_customer, access_loan
from loancenter import posts as P

LIVE = DocumentFile.State.ACTIVE
# A voided version is kept for the archive; only the archive and the manager open it (SPEC §16.8).
VOIDED_READERS = (P.ARCHIVIST, P.MANAGER)


def files_of_loan(loan) -> QuerySet[DocumentFile]:
    """The loan's own files and its borrower's folder files (ID scans, the authorisation), every version."""
    return (DocumentFile.objects.filter(Q(loan=loan) | Q(customer_id=loan.customer_id, loan__isnull=True))
            .select_related("uploaded_by").order_by("code", "-version", "-id"))


def live_codes(loan) -> set[str]:
    """Codes with at least one live (not voided) file for ``loan`` — what rule 5 reads."""
    return set(files_of_loan(loan).exclude(state=DocumentFile.State.VOIDED).values_list("code", flat=True))


def gallery(loan) -> list[tuple[str, str, list[DocumentFile]]]:
    """The loan page's gallery: (code, label, versions newest first) in the product's order; voided ones left out."""
    groups: OrderedDict[str, list[DocumentFile]] = OrderedDict((c, []) for c in loan_codes(loan.product))
    for document in files_of_loan(loan).exclude(state=DocumentFile.State.VOIDED):
        groups.setdefault(document.code, []).append(document)
    return [(code, rows[0].label if rows else _label(code), rows) for code, rows in groups.items()]


def _label(code: str) -> str:
    from applications.catalog import document_label

    return document_label(code)


def access_document(user, pk, *, action: str = "document_file") -> DocumentFile:
    """The file if ``user`` may read it: its loan (or, for a folder file, its customer) within the reader's scope."""
    try:
        document = DocumentFile.objects.select_related("loan", "customer").get(pk=pk)
    except (DocumentFile.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None
    if document.loan_id is not None:
        access_loan(user, document.loan_id, action=action)  # 404 (recorded) outside the scope
    else:
        access_customer(user, document.customer_id)
    if document.state == DocumentFile.State.VOIDED and not user.has_any_post(*VOIDED_READERS):
        raise Http404
    return document
