"""What a file is, found from its bytes (never its name or the client's header), and whether it opens.

SPEC §11, §16.7: accepted are PDF, JPEG and PNG that open — a PDF yields its page count, an image decodes — with
no JavaScript, embedded file or markup hidden in them; anything else is refused with a message naming what was found
("文件内容为 HTML，不是 PDF/JPEG/PNG"). An iPhone's HEIC photo is converted to JPEG when pillow-heif is installed,
and refused with a message saying so otherwise. No malware scanning is promised (no signature feed here).
The file is read in chunks from its temporary file: nothing is held whole in memory.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import warnings
from dataclasses import dataclass
from typing import IO

import filetype
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from loancenter.lib.errors import RuleViolation

PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"
ACCEPTED = {PDF: "pdf", JPEG: "jpg", PNG: "png"}
HEIC_TYPES = {"image/heic", "image/heif"}
CHUNK = 1024 * 1024
_HEAD = 8192

# Active content in a PDF's own syntax (uncompressed objects); compressed object streams are read by pypdf below.
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|EmbeddedFiles?|Launch|RichMedia|XFA)(?=[\s/<>\[\]()%]|$)")
# Markup a browser would run if it ever sniffed the file: a polyglot (an image or PDF that is also HTML/SVG).
_MARKUP = re.compile(rb"<\s*(script|html|svg|iframe|body|object|embed)\b", re.IGNORECASE)
_OVERLAP = 32

_FOUND_NAMES = {
    "zip": "ZIP", "rar": "RAR", "7z": "7z", "gz": "gzip", "tar": "TAR", "bz2": "bzip2", "xz": "xz",
    "exe": "EXE", "elf": "ELF", "gif": "GIF", "bmp": "BMP", "webp": "WebP", "tif": "TIFF", "avif": "AVIF",
    "doc": "Word", "docx": "Word", "xls": "Excel", "xlsx": "Excel", "mp4": "MP4", "mov": "MOV",
}


@dataclass
class Inspected:
    file: IO[bytes]
    content_type: str
    extension: str
    pages: int
    sha256: str
    size: int
    converted_from: str = ""


def refuse_type(found: str) -> RuleViolation:
    return RuleViolation("unsupported_type", _("The file's content is %(found)s, not PDF/JPEG/PNG.") % {"found": found},
                         field="file")


def _unreadable(what: str) -> RuleViolation:
    return RuleViolation("unreadable_file", what, field="file")


def describe_text(head: bytes) -> str:
    """A name for content filetype does not know (text formats): HTML, SVG, XML or plain text."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<svg") or b"<svg" in text:
        return "SVG"
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text or b"<script" in text:
        return "HTML"
    if text.startswith(b"<?xml"):
        return "XML"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return _("unknown binary data")
    return _("plain text")


def _scan(handle: IO[bytes]) -> tuple[str, int, bool, bool]:
    """SHA-256, size, and whether markup or PDF active-content names occur, read chunk by chunk."""
    digest, size, markup, active = hashlib.sha256(), 0, False, False
    handle.seek(0)
    tail = b""
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        window = tail + chunk
        markup = markup or bool(_MARKUP.search(window))
        active = active or bool(_PDF_ACTIVE.search(window))
        tail = window[-_OVERLAP:]
    handle.seek(0)
    return digest.hexdigest(), size, markup, active


def _pdf_has_active_content(reader) -> bool:
    """JavaScript, embedded files, launch actions or XFA anywhere pypdf can reach from the catalogue and the pages."""
    root = reader.trailer["/Root"].get_object()
    names = root.get("/Names")
    if names is not None:
        names = names.get_object()
        if "/JavaScript" in names or "/EmbeddedFiles" in names:
            return True
    if "/AA" in root or ("/AcroForm" in root and "/XFA" in root["/AcroForm"].get_object()):
        return True
    if _is_active_action(root.get("/OpenAction")):
        return True
    for page in reader.pages:
        if "/AA" in page:
            return True
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            if annot.get("/Subtype") in ("/FileAttachment", "/RichMedia", "/Screen", "/Movie"):
                return True
            if _is_active_action(annot.get("/A")) or "/AA" in annot:
                return True
    return False


def _is_active_action(action) -> bool:
    if action is None:
        return False
    action = action.get_object()
    if not hasattr(action, "get"):
        return False  # an explicit destination (a list), not an action
    return action.get("/S") in ("/JavaScript", "/Launch", "/ImportData", "/RichMediaExecute", "/SubmitForm")


def _check_pdf(handle: IO[bytes]) -> int:
    from pypdf import PdfReader  # imported here: only PDFs pay for it

    try:
        reader = PdfReader(handle, strict=False)
        if reader.is_encrypted:
            raise RuleViolation("pdf_encrypted", _("The PDF is password-protected; upload it without a password."),
                                field="file")
        pages = len(reader.pages)
        active = _pdf_has_active_content(reader)
    except RuleViolation:
        raise
    except Exception:  # pypdf raises many kinds of error on a broken file; each means "does not open"
        raise _unreadable(_("The file starts like a PDF but does not open as one.")) from None
    if pages < 1:
        raise _unreadable(_("The PDF has no pages."))
    if active:
        raise RuleViolation("pdf_active_content",
                            _("The PDF contains JavaScript or embedded files, which are not accepted."), field="file")
    return pages


def _check_image(handle: IO[bytes], expected: str) -> None:
    label = "JPEG" if expected == "JPEG" else "PNG"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(handle) as image:
                if image.format != expected:
                    raise _unreadable(_("The file starts like a %(kind)s image but is not one.") % {"kind": label})
                image.verify()
            handle.seek(0)
            with Image.open(handle) as image:
                image.load()
    except RuleViolation:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise _unreadable(_("The file starts like a %(kind)s image but does not decode.") % {"kind": label}) from None
    finally:
        handle.seek(0)


def _convert_heic(handle: IO[bytes]) -> IO[bytes]:
    try:
        import pillow_heif
    except ImportError:
        raise RuleViolation("heic_not_supported", _("HEIC photos (iPhone) are not accepted here: set the camera to "
                                                    "'Most Compatible' or upload a JPEG."), field="file") from None
    pillow_heif.register_heif_opener()
    converted = tempfile.TemporaryFile()
    try:
        with Image.open(handle) as image:
            from PIL import ImageOps

            ImageOps.exif_transpose(image).convert("RGB").save(converted, "JPEG", quality=90)
    except Exception:
        converted.close()
        raise _unreadable(_("The file starts like a HEIC photo but does not decode.")) from None
    converted.seek(0)
    return converted


def inspect_upload(handle: IO[bytes]) -> Inspected:
    """Inspect an uploaded file; raise ``RuleViolation`` (400, a ``code``, the reason in words) if it is refused."""
    handle.seek(0)
    head = handle.read(_HEAD)
    handle.seek(0)
    if not head:
        raise RuleViolation("empty_file", _("The file is empty."), field="file")
    kind = filetype.guess(head)
    converted_from = ""
    if kind is not None and kind.mime in HEIC_TYPES:
        handle = _convert_heic(handle)
        converted_from = "HEIC"
        kind = filetype.guess(handle.read(_HEAD))
        handle.seek(0)
    if kind is None:
        raise refuse_type(describe_text(head))
    if kind.mime not in ACCEPTED:
        raise refuse_type(_FOUND_NAMES.get(kind.extension, kind.extension.upper()))
    sha256, size, markup, active = _scan(handle)
    if kind.mime == PDF:
        pages = _check_pdf(handle)
    else:
        _check_image(handle, "JPEG" if kind.mime == JPEG else "PNG")
        pages = 1
    if markup:
        raise RuleViolation("polyglot", _("The file is a %(kind)s that also carries web page markup (HTML/SVG/script); "
                                          "it is not accepted.") % {"kind": ACCEPTED[kind.mime].upper()}, field="file")
    if active and kind.mime == PDF:
        raise RuleViolation("pdf_active_content",
                            _("The PDF contains JavaScript or embedded files, which are not accepted."), field="file")
    handle.seek(0)
    return Inspected(file=handle, content_type=kind.mime, extension=ACCEPTED[kind.mime], pages=pages, sha256=sha256,
                     size=size, converted_from=converted_from)
