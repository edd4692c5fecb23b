"""Small generated files for the demo data, the test factories and the bench (never for real customers)."""

from __future__ import annotations

import hashlib
import io
import uuid

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

from applications.files.models import DocumentFile


def sample_jpeg(text: str = "photo", *, size=(640, 480), color=(70, 110, 160)) -> bytes:
    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    draw.rectangle([20, 20, size[0] - 20, size[1] - 20], outline=(255, 255, 255), width=4)
    draw.text((40, 40), text, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def sample_png(text: str = "scan") -> bytes:
    image = Image.new("RGB", (400, 300), (240, 240, 240))
    ImageDraw.Draw(image).text((20, 20), text, fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def sample_pdf(text: str = "document", *, pages: int = 1, size=(595, 842)) -> bytes:
    """A PDF of ``pages`` A4 pages, each an image with ``text`` and the page number (Pillow writes it)."""
    images = []
    for number in range(1, pages + 1):
        page = Image.new("RGB", size, (255, 255, 255))
        draw = ImageDraw.Draw(page)
        draw.rectangle([30, 30, size[0] - 30, size[1] - 30], outline=(0, 0, 0), width=2)
        draw.text((50, 50), f"{text} - page {number}/{pages}", fill=(0, 0, 0))
        images.append(page)
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=72)
    return out.getvalue()


def store_sample(*, customer_id: int, loan=None, code: str, by, content: bytes, content_type: str = "application/pdf",
                 name: str = "", pages: int = 1) -> DocumentFile:
    """A file row with its bytes in storage, written directly (demo data and test set-up, no inspection or preview):
    the next version of ``code``."""
    from applications.files.models import document_storage

    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}[content_type]
    stored = document_storage().save(f"{customer_id}/{uuid.uuid4().hex}.{extension}", ContentFile(content))
    siblings = DocumentFile.objects.filter(code=code, **({"loan": loan} if loan is not None
                                                          else {"customer_id": customer_id, "loan__isnull": True}))
    return DocumentFile.objects.create(
        customer_id=customer_id, loan=loan, code=code, version=siblings.count() + 1,
        name=name or f"{code}.{extension}", storage_name=stored, sha256=hashlib.sha256(content).hexdigest(),
        size=len(content), content_type=content_type, pages=pages, uploaded_by=by,
    )


def demo_files(loan, *, by, photos_by=None, photos: int = 0) -> list[DocumentFile]:
    """Demo data (``seed_demo``): a small PDF for each paper received of ``loan`` and ``photos`` site photos, each
    with its preview, so that every demo loan shows a full gallery."""
    from applications.catalog import document_label
    from applications.files.previews import document_make_preview

    made = []
    for code in loan.documents.values_list("code", flat=True):
        text = f"{loan.application_no} {code} ({document_label(code)})".encode("ascii", "ignore").decode()
        made.append(store_sample(customer_id=loan.customer_id, loan=loan, code=code, by=by, pages=2,
                                 content=sample_pdf(text, pages=2, size=(420, 595)), name=f"{code}.pdf"))
    for number in range(1, photos + 1):
        made.append(store_sample(customer_id=loan.customer_id, loan=loan, code="site_photo", by=photos_by or by,
                                 content=sample_jpeg(f"{loan.application_no} site photo {number}",
                                                     color=(60 + 40 * number, 120, 90)),
                                 content_type="image/jpeg", name=f"site-{number}.jpg"))
    for document in made:
        document_make_preview(document.pk)
    return made
