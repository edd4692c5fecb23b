"""POST /api/loans/{id}/documents/ and /api/customers/{id}/documents/ (SPEC §11, §14, §16.7–8)."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.storage import storages
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from applications.files.models import DocumentFile
from loancenter.models import RefusedAttempt
from tests.documents.support import JPEG_BYTES, PDF_BYTES, PNG_BYTES, pdf, upload
from tests.factories import LoanFactory, add_files


@pytest.fixture
def loan(staff, product, customer):
    return LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, documents=[], files=[])


def stored_names() -> list[str]:
    storage = storages["documents"]
    names = []
    folders = [""]
    while folders:
        folder = folders.pop()
        dirs, files = storage.listdir(folder)
        names += [f"{folder}/{f}" for f in files]
        folders += [f"{folder}/{d}".lstrip("/") for d in dirs]
    return names


def _writer_pdf(**extra) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    if extra.get("js"):
        writer.root_object[NameObject("/OpenAction")] = DictionaryObject({
            NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert('hi');")})
    if extra.get("attachment"):
        writer.add_attachment("payload.exe", b"MZ" + b"\0" * 64)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_marketing_uploads_a_pdf_and_gets_its_facts_back(api, staff, loan):
    before = set(stored_names())
    # The name and the client's header say PNG; the bytes are a PDF, and the bytes win.
    response = upload(api(staff.mkt), loan, "income_proof", pdf("收入证明.png", content_type="image/png"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("code", "name", "sha256", "size", "content_type", "version", "uploaded_by")} == {
        "code": "income_proof", "name": "收入证明.png", "sha256": hashlib.sha256(PDF_BYTES).hexdigest(),
        "size": len(PDF_BYTES), "content_type": "application/pdf", "version": 1, "uploaded_by": "mkt"}
    assert body["pages"] == 1 and body["uploaded_at"] and body["id"]
    new = set(stored_names()) - before
    assert len(new) == 1
    with storages["documents"].open(new.pop()) as stored:
        assert stored.read() == PDF_BYTES
    listed = api(staff.mkt).get(f"/api/loans/{loan.pk}/documents/").json()
    assert [d["id"] for d in listed] == [body["id"]]


def test_second_upload_is_a_new_version_and_the_old_one_stays_readable(api, staff, loan):
    first = upload(api(staff.mkt), loan, "id_card", pdf("id.png", PNG_BYTES, "image/png")).json()
    second = upload(api(staff.arch), loan, "id_card", pdf("id2.jpg", JPEG_BYTES, "image/jpeg")).json()
    assert (first["version"], second["version"]) == (1, 2)
    assert (first["content_type"], second["content_type"]) == ("image/png", "image/jpeg")
    old = api(staff.mkt).get(f"/api/documents/{first['id']}/file/")
    assert old.status_code == 200 and b"".join(old.streaming_content) == PNG_BYTES
    assert DocumentFile.objects.filter(loan=loan, code="id_card").count() == 2


REFUSED = [
    ("html", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "unsupported_type",
     "The file's content is HTML, not PDF/JPEG/PNG."),
    ("svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>',
     "unsupported_type", "The file's content is SVG, not PDF/JPEG/PNG."),
    ("exe", b"MZ\x90\x00\x03" + b"\x00" * 200, "unsupported_type", "The file's content is EXE, not PDF/JPEG/PNG."),
    ("zip", b"PK\x03\x04\x14\x00" + b"\x00" * 200, "unsupported_type", "The file's content is ZIP, not PDF/JPEG/PNG."),
    ("pdf prefix on html", b"%PDF-1.7\n<html><body><script>alert(1)</script></body></html>", "unreadable_file",
     "The file starts like a PDF but does not open as one."),
    ("truncated jpeg", JPEG_BYTES[:200], "unreadable_file", "The file starts like a JPEG image but does not decode."),
    ("png with html appended", PNG_BYTES + b"<html><script>alert(1)</script></html>", "polyglot", "PNG"),
    ("pdf with javascript", _writer_pdf(js=True), "pdf_active_content", "JavaScript"),
    ("pdf with an embedded file", _writer_pdf(attachment=True), "pdf_active_content", "embedded files"),
    ("empty", b"", "empty_file", "empty"),
]


@pytest.mark.parametrize(("what", "content", "code", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_content_is_named_and_nothing_is_written(api, staff, loan, what, content, code, message):
    before = set(stored_names())
    response = upload(api(staff.mkt), loan, "income_proof", pdf("proof.pdf", content))
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code and message in response.json()["detail"]
    assert not DocumentFile.objects.exists() and set(stored_names()) == before
    assert RefusedAttempt.objects.filter(action="document_upload", code=code, loan_id_ref=loan.pk).exists()


def test_refusal_is_in_chinese_for_a_chinese_client(api, staff, loan):
    response = api(staff.mkt).post(f"/api/loans/{loan.pk}/documents/",
                                   {"code": "income_proof", "file": pdf("a.pdf", b"<html><p>x</p></html>")},
                                   format="multipart", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.json()["detail"] == "文件内容为 HTML，不是 PDF/JPEG/PNG。"


def test_file_over_the_limit_is_413_answered_normally_and_nothing_is_written(api, staff, loan, settings):
    settings.DOCUMENT_MAX_BYTES = 20_000
    before = set(stored_names())
    big = PDF_BYTES + b"%" + b"x" * 30_000  # a PDF with a long trailing comment: well-formed, just too large
    response = upload(api(staff.mkt), loan, "income_proof", pdf("big.pdf", big))
    assert response.status_code == 413, response.content
    assert response.json()["code"] == "file_too_large" and "20 MB" not in response.json()["detail"]
    assert not DocumentFile.objects.exists() and set(stored_names()) == before
    assert RefusedAttempt.objects.filter(action="document_upload", code="file_too_large", loan_id_ref=loan.pk).exists()
    # The same file under the limit is taken.
    settings.DOCUMENT_MAX_BYTES = 20 * 1024 * 1024
    assert upload(api(staff.mkt), loan, "income_proof", pdf("big.pdf", big)).status_code == 201


def test_unknown_code_is_refused(api, staff, loan):
    response = upload(api(staff.mkt), loan, "selfie", pdf())
    assert response.status_code == 400 and response.json()["code"] == "unknown_document"
    assert not DocumentFile.objects.exists()


def test_outside_the_scope_the_loan_does_not_exist(api, staff, loan):
    response = upload(api(staff.mkt2), loan, "income_proof", pdf())
    assert response.status_code == 404
    assert not DocumentFile.objects.exists()
    assert RefusedAttempt.objects.filter(actor=staff.mkt2, loan_id_ref=loan.pk).exists()


def test_a_post_that_files_no_papers_is_refused_before_its_input_is_read(api, staff, loan, flow):
    add_files(loan, loan.product.required_documents)
    flow.advance(loan, to="under_review")  # the reviewer sees the loan from here on
    response = upload(api(staff.rev), loan, "income_proof", pdf())
    assert response.status_code == 403 and response.json()["code"] == "post_required"
    assert not DocumentFile.objects.filter(uploaded_by=staff.rev).exists()


def test_a_post_that_does_not_handle_that_paper_is_refused(api, staff, loan, flow):
    add_files(loan, loan.product.required_documents)
    flow.advance(loan, to="investigating")
    response = upload(api(staff.inv), loan, "stamped_receipt", pdf())
    assert response.status_code == 403 and response.json()["code"] == "post_required"
    assert "Loan receipt with disbursement stamp" in response.json()["detail"]
    assert upload(api(staff.inv), loan, "site_photo", pdf("site.jpg", JPEG_BYTES)).status_code == 201


def test_customer_folder_takes_id_scans_and_the_authorisation(api, staff, customer):
    client = api(staff.mkt)
    response = client.post(f"/api/customers/{customer.pk}/documents/",
                           {"code": "credit_authorization", "file": pdf()}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["loan"] is None and response.json()["customer"] == customer.pk
    refused = client.post(f"/api/customers/{customer.pk}/documents/", {"code": "income_proof", "file": pdf()},
                          format="multipart")
    assert refused.status_code == 400 and refused.json()["code"] == "unknown_document"
    assert api(staff.mkt2).post(f"/api/customers/{customer.pk}/documents/",
                                {"code": "id_card", "file": pdf()}, format="multipart").status_code == 404


def test_an_iphone_heic_photo_is_converted_to_jpeg_on_the_server(api, staff, loan):
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    heic = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 30, 30)).save(heic, "HEIF")
    response = upload(api(staff.mkt), loan, "income_proof", pdf("IMG_0001.HEIC", heic.getvalue(), "image/heic"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["content_type"], body["name"]) == ("image/jpeg", "IMG_0001.jpg")
    stored = b"".join(api(staff.mkt).get(f"/api/documents/{body['id']}/file/").streaming_content)
    assert stored[:3] == b"\xff\xd8\xff" and hashlib.sha256(stored).hexdigest() == body["sha256"]
    assert Image.open(io.BytesIO(stored)).size == (320, 240)
