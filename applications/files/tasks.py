"""Celery tasks of documents: thin, ids in (STYLE)."""

from __future__ import annotations

from celery import shared_task


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def make_document_preview(document_id: int) -> str:
    from applications.files.previews import document_make_preview

    return document_make_preview(document_id)
