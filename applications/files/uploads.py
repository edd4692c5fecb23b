"""The size limit of an upload, enforced while the request body is read (SPEC §11, §16.7)."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class SizeLimitUploadHandler(FileUploadHandler):
    """Counts each uploaded file's bytes as they arrive and stops the upload past ``DOCUMENT_MAX_BYTES``.

    Listed first in ``FILE_UPLOAD_HANDLERS``, before the handler that writes the file to a temporary file: nothing
    past the limit is kept. ``StopUpload(connection_reset=False)`` makes Django read and discard the rest of the body,
    so the client gets its 413 answer normally (§16.7); the view asks :func:`upload_too_large`.
    """

    def __init__(self, request=None):
        super().__init__(request)
        self.too_large = False
        self._received = 0

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self._received = 0

    def receive_data_chunk(self, raw_data, start):
        self._received += len(raw_data)
        if self._received > settings.DOCUMENT_MAX_BYTES:
            self.too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def upload_too_large(request) -> bool:
    """Whether an uploaded file of ``request`` went over the limit (ask after the body has been parsed)."""
    return any(getattr(handler, "too_large", False) for handler in request.upload_handlers)
