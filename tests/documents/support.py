"""Files as a client sends them."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from applications.files.samples import sample_jpeg, sample_pdf, sample_png

PDF_BYTES = sample_pdf("income proof")
JPEG_BYTES = sample_jpeg("site photo")
PNG_BYTES = sample_png("id card")


def pdf(name="proof.pdf", content=PDF_BYTES, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def upload(client, loan, code, file):
    return client.post(f"/api/loans/{loan.pk}/documents/", {"code": code, "file": file}, format="multipart")
