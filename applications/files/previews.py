"""Reduced preview images: the image itself or a PDF's first page (pypdfium2), made in a Celery task (SPEC §11)."""

from __future__ import annotations

import os
import tempfile

from django.core.files import File
from PIL import Image, ImageOps

from applications.files.models import DocumentFile, document_storage

PREVIEW_BOX = (480, 480)


def render_preview(handle, content_type: str, out) -> None:
    """Write a JPEG preview of the file open in ``handle`` to ``out``."""
    if content_type == "application/pdf":
        import pypdfium2

        pdf = pypdfium2.PdfDocument(handle)
        try:
            page = pdf[0]
            width, height = page.get_size()
            scale = min(PREVIEW_BOX[0] / width, PREVIEW_BOX[1] / height) * 1.5  # a little sharper than the box
            image = page.render(scale=scale).to_pil()
            page.close()
        finally:
            pdf.close()
    else:
        image = ImageOps.exif_transpose(Image.open(handle))
        image.draft("RGB", PREVIEW_BOX)  # JPEG: decode at a reduced size straight away
    image = image.convert("RGB")
    image.thumbnail(PREVIEW_BOX)
    image.save(out, "JPEG", quality=80)


def document_make_preview(document_id: int) -> str:
    """Make (once) the preview of a stored file and keep its storage name on the row."""
    document = DocumentFile.objects.get(pk=document_id)
    if document.preview_name:
        return document.preview_name
    storage = document_storage()
    # pypdfium2 needs a seekable file: a storage that streams (S3) is copied to a temporary file first.
    with tempfile.TemporaryFile() as local, tempfile.TemporaryFile() as out:
        with storage.open(document.storage_name, "rb") as stored:
            for chunk in iter(lambda: stored.read(1024 * 1024), b""):
                local.write(chunk)
        local.seek(0)
        render_preview(local, document.content_type, out)
        out.seek(0)
        base = os.path.splitext(document.storage_name)[0]
        name = storage.save(f"{base}.preview.jpg", File(out))
    DocumentFile.objects.filter(pk=document.pk, preview_name="").update(preview_name=name)
    return name
