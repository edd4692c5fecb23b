"""Integrity of the stored files (SPEC §11): every file re-hashed against the SHA-256 kept when it was accepted."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from applications.files.models import DocumentFile, document_storage


@dataclass
class IntegrityReport:
    checked: int = 0
    changed: list[DocumentFile] = field(default_factory=list)
    missing: list[DocumentFile] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.changed and not self.missing


def _digest(storage, name: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with storage.open(name, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def verify_files(documents: Iterator[DocumentFile] | None = None) -> IntegrityReport:
    """Re-hash every stored file; a file that cannot be opened is missing, one whose hash or size differ is changed."""
    storage = document_storage()
    report = IntegrityReport()
    rows = documents if documents is not None else DocumentFile.objects.order_by("pk").iterator(chunk_size=500)
    for document in rows:
        report.checked += 1
        try:
            sha256, size = _digest(storage, document.storage_name)
        except (FileNotFoundError, OSError):
            report.missing.append(document)
            continue
        except Exception as error:  # a remote store answers "no such key" with its own error type
            if "NoSuchKey" in type(error).__name__ or "404" in str(error) or "Not Found" in str(error):
                report.missing.append(document)
                continue
            raise
        if sha256 != document.sha256 or size != document.size:
            report.changed.append(document)
    return report
