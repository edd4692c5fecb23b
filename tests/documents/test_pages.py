"""The browser side of documents: upload form, gallery on the loan page, opening a file, the manager's log."""

from __future__ import annotations

import pytest
from django.urls import reverse

from applications.files.models import DocumentDownload, DocumentFile
from tests.documents.support import JPEG_BYTES, pdf
from tests.factories import LoanFactory


@pytest.mark.sidedoor(rule="5", path="browser: /loans/{id}/documents/ upload")
def test_the_form_uploads_several_files_and_the_loan_page_shows_them_by_code(client, staff, product, customer,
                                                                              django_capture_on_commit_callbacks):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, files=[])
    client.force_login(staff.mkt)
    page = client.get(reverse("loan-documents", args=[loan.pk])).content.decode()
    assert 'accept="image/jpeg,image/png,application/pdf"' in page and "multiple" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("loan-documents", args=[loan.pk]),
                               {"code": "income_proof", "file": [pdf("工资流水.pdf"), pdf("p2.jpg", JPEG_BYTES)]})
    assert response.status_code == 302
    assert list(DocumentFile.objects.filter(loan=loan).values_list("code", "version", "name")) == [
        ("income_proof", 2, "p2.jpg"), ("income_proof", 1, "工资流水.pdf")]
    html = client.get(reverse("loan-detail", args=[loan.pk])).content.decode()
    assert 'data-code="income_proof"' in html and "工资流水.pdf" in html
    first = DocumentFile.objects.get(loan=loan, version=1)
    assert reverse("document-preview", args=[first.pk]) in html  # the preview task has made the reduced image
    # Rule 5 reads the files: the ID card has none yet, and submit says so.
    refused = client.post(reverse("loan-transition", args=[loan.pk, "submit"]), follow=True).content.decode()
    assert "Required documents missing: ID card (rule 5)." in refused
    loan.refresh_from_db()
    assert loan.status == "draft"


def test_a_refused_file_is_named_on_the_page_and_nothing_is_kept(client, staff, product, customer):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, files=[])
    client.force_login(staff.mkt)
    response = client.post(reverse("loan-documents", args=[loan.pk]),
                           {"code": "income_proof", "file": pdf("a.pdf", b"<html><body>hi</body></html>")},
                           follow=True)
    assert "a.pdf: The file&#x27;s content is HTML, not PDF/JPEG/PNG." in response.content.decode()
    assert not DocumentFile.objects.exists()


def test_the_browser_opens_a_checked_file_inline_and_the_manager_sees_who_did(client, staff, product, customer):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
    document = loan.files.get(code="income_proof")
    client.force_login(staff.mkt)
    response = client.get(reverse("document-file", args=[document.pk]))
    assert response["Content-Type"] == "application/pdf" and response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff" and response["Cache-Control"] == "private, no-store"
    assert DocumentDownload.objects.filter(reader=staff.mkt, document=document, surface="browser").exists()
    client.force_login(staff.mkt2)
    assert client.get(reverse("document-file", args=[document.pk])).status_code == 404
    client.force_login(staff.boss)
    log = client.get(reverse("document-downloads")).content.decode()
    assert 'data-reader="mkt"' in log and f'data-document="{document.pk}"' in log
    client.force_login(staff.mkt)
    assert client.get(reverse("document-downloads")).status_code == 403


def test_voiding_from_the_documents_page_takes_two_people(client, staff, product, customer):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
    document = loan.files.get(code="id_card")
    client.force_login(staff.mkt)
    page = client.get(reverse("loan-documents", args=[loan.pk])).content.decode()
    assert reverse("document-void", args=[document.pk]) in page
    client.post(reverse("document-void", args=[document.pk]), {"reason": "另一客户的身份证"})
    document.refresh_from_db()
    assert (document.state, document.void_requested_by) == ("void_requested", staff.mkt)
    assert client.post(reverse("document-void-decide", args=[document.pk]), {"decision": "approve"}).status_code == 403
    client.force_login(staff.arch)
    client.post(reverse("document-void-decide", args=[document.pk]), {"decision": "approve"})
    document.refresh_from_db()
    assert (document.state, document.voided_by) == ("voided", staff.arch)
    client.force_login(staff.mkt)
    html = client.get(reverse("loan-detail", args=[loan.pk])).content.decode()
    assert f'data-document="{document.pk}"' not in html  # hidden from the gallery, kept for the archive
