"""Celery tasks of the applications app (found by autodiscovery)."""

from applications.files.tasks import make_document_preview  # noqa: F401
