"""PDF rendering with WeasyPrint. The CJK font comes from Debian's fonts-noto-cjk through fontconfig; nothing is fetched."""

from __future__ import annotations

import logging

from django.conf import settings
from django.template.loader import render_to_string

logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.ERROR)


def _no_network(url: str, *args, **kwargs):
    """Only files of the project are loaded; any other URL is refused instead of fetched."""
    from weasyprint import default_url_fetcher

    if url.startswith("file://") or url.startswith("data:"):
        return default_url_fetcher(url, *args, **kwargs)
    raise ValueError(f"refusing to fetch {url!r} while rendering a PDF")


def render_pdf(template: str, context: dict) -> bytes:
    from weasyprint import HTML

    html = render_to_string(template, context)
    return HTML(string=html, base_url=str(settings.BASE_DIR), url_fetcher=_no_network).write_pdf()
