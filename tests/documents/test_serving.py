"""Serving, versions, voiding and rule 5 on files (SPEC §11, §16.8–9)."""

from __future__ import annotations

import pytest

from applications.files.models import DocumentDownload, DocumentFile
from applications.models import Status
from tests.documents.support import JPEG_BYTES, PDF_BYTES, pdf, upload
from tests.factories import LoanFactory


@pytest.fixture
def loan(staff, product, customer):
    return LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, files=[])


def test_download_is_an_attachment_that_cannot_be_sniffed_and_is_recorded(api, staff, loan):
    document = upload(api(staff.mkt), loan, "income_proof", pdf("收入证明.pdf")).json()
    response = api(staff.mkt).get(f"/api/documents/{document['id']}/file/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    row = DocumentDownload.objects.get()
    assert (row.reader, row.document_id, row.surface, row.disposition) == (staff.mkt, document["id"], "api",
                                                                           "attachment")


def test_a_checked_pdf_or_image_is_shown_inline_with_its_type(api, staff, loan):
    document = upload(api(staff.mkt), loan, "income_proof", pdf("p.jpg", JPEG_BYTES)).json()
    response = api(staff.mkt).get(f"/api/documents/{document['id']}/file/?inline=1")
    assert response["Content-Type"] == "image/jpeg" and response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert DocumentDownload.objects.get().disposition == "inline"


def test_outside_the_scope_a_file_does_not_exist(api, staff, loan):
    document = upload(api(staff.mkt), loan, "income_proof", pdf()).json()
    assert api(staff.mkt2).get(f"/api/documents/{document['id']}/file/").status_code == 404
    # The reviewer sees the loan only once it reaches review (SPEC §4).
    assert api(staff.rev).get(f"/api/documents/{document['id']}/file/").status_code == 404
    assert api(staff.rev).get(f"/api/loans/{loan.pk}/documents/").status_code == 404
    assert not DocumentDownload.objects.exists()


@pytest.mark.sidedoor(rule="5", path="api: POST /api/loans/{id}/documents/")
@pytest.mark.sidedoor(rule="5", path="api: POST /api/customers/{id}/documents/")
def test_rule_5_submit_names_the_documents_without_a_file(api, staff, loan):
    client = api(staff.mkt)
    refused = client.post(f"/api/loans/{loan.pk}/transitions/submit/", {}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "documents_missing"
    assert "ID card" in refused.json()["detail"] and "Proof of income" in refused.json()["detail"]
    assert loan.documents.count() == 2  # the paper column is ticked; it is the files that are missing
    upload(client, loan, "income_proof", pdf())
    refused = client.post(f"/api/loans/{loan.pk}/transitions/submit/", {}, format="json")
    assert "ID card" in refused.json()["detail"] and "Proof of income" not in refused.json()["detail"]
    # The ID scan belongs to the customer's folder and counts for every loan of theirs (SPEC §16.8).
    assert client.post(f"/api/customers/{loan.customer_id}/documents/", {"code": "id_card", "file": pdf()},
                       format="multipart").status_code == 201
    response = client.post(f"/api/loans/{loan.pk}/transitions/submit/", {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == Status.SUBMITTED


def _void_request(api, user, document_id, reason="另一客户的身份证"):
    return api(user).post(f"/api/documents/{document_id}/void/", {"reason": reason}, format="json")


@pytest.mark.sidedoor(rule="5", path="api: POST /api/documents/{id}/void/approve/")
def test_a_misfiled_version_is_voided_by_two_people_and_kept(api, staff, loan):
    client = api(staff.mkt)
    first = upload(client, loan, "income_proof", pdf()).json()
    assert _void_request(api, staff.mkt, first["id"], reason="").json()["code"] == "reason_required"
    assert _void_request(api, staff.mkt, first["id"]).json()["status"] == "void_requested"
    # Nobody confirms their own request; a marketing officer does not confirm at all.
    assert api(staff.mkt).post(f"/api/documents/{first['id']}/void/approve/").status_code == 403
    response = api(staff.arch).post(f"/api/documents/{first['id']}/void/approve/")
    assert response.status_code == 200 and response.json()["status"] == "voided"
    assert [d["id"] for d in client.get(f"/api/loans/{loan.pk}/documents/").json()] == []
    # Kept for the archive, hidden from the loan's own staff.
    assert DocumentFile.objects.filter(pk=first["id"]).exists()
    assert client.get(f"/api/documents/{first['id']}/file/").status_code == 404
    assert api(staff.arch).get(f"/api/documents/{first['id']}/file/").status_code == 200
    # A voided file does not satisfy rule 5.
    refused = client.post(f"/api/loans/{loan.pk}/transitions/submit/", {}, format="json")
    assert "Proof of income" in refused.json()["detail"]


def test_whoever_asked_to_void_cannot_confirm_it(api, staff, loan):
    document = upload(api(staff.arch), loan, "income_proof", pdf()).json()
    _void_request(api, staff.arch, document["id"])
    response = api(staff.arch).post(f"/api/documents/{document['id']}/void/approve/")
    assert response.status_code == 403 and response.json()["code"] == "separation_of_duty"
    assert DocumentFile.objects.get(pk=document["id"]).state == "void_requested"
    refused = api(staff.boss).post(f"/api/documents/{document['id']}/void/reject/")
    assert refused.status_code == 200 and refused.json()["status"] == "active"
