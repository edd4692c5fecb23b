"""Previews made by the Celery task: the first page of a PDF, or the image, reduced (SPEC §11)."""

from __future__ import annotations

import io

from PIL import Image

from applications.files.models import DocumentFile
from applications.files.samples import sample_jpeg, sample_pdf
from tests.documents.support import pdf, upload
from tests.factories import LoanFactory


def _preview(api, user, document_id) -> Image.Image:
    response = api(user).get(f"/api/documents/{document_id}/preview/")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    return Image.open(io.BytesIO(b"".join(response.streaming_content)))


def test_each_upload_gets_a_reduced_preview_from_the_task(api, staff, product, customer,
                                                           django_capture_on_commit_callbacks):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, files=[])
    with django_capture_on_commit_callbacks(execute=True):
        proof = upload(api(staff.mkt), loan, "income_proof", pdf("p.pdf", sample_pdf("proof", pages=5))).json()
        photo = upload(api(staff.mkt), loan, "id_card", pdf("id.jpg", sample_jpeg(size=(2400, 1600)))).json()
    assert proof["pages"] == 5
    first_page = _preview(api, staff.mkt, proof["id"])
    assert max(first_page.size) <= 480 and first_page.size[1] > first_page.size[0]  # A4 portrait, reduced
    image = _preview(api, staff.mkt, photo["id"])
    assert image.size == (480, 320)
    assert api(staff.mkt2).get(f"/api/documents/{proof['id']}/preview/").status_code == 404


def test_without_the_task_there_is_no_preview_yet(api, staff, product, customer):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, files=[])
    document = upload(api(staff.mkt), loan, "income_proof", pdf()).json()  # the commit hook has not run
    assert DocumentFile.objects.get(pk=document["id"]).preview_name == ""
    assert api(staff.mkt).get(f"/api/documents/{document['id']}/preview/").json()["code"] == "no_preview"
