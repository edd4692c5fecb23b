"""PDF rendering with WeasyPrint. The CJK font comes from Debian's fonts-noto-cjk through fontconfig; nothing is fetched."""

from __future__ import annotations

import logging

from django.conf import settings
from django.template.loader import render_to_string

logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.ERROR)


def _no_network():
    """Only files of the project and inline ``data:`` images are loaded; any other URL is refused, never fetched.

    WeasyPrint 70 takes a ``URLFetcher`` instance (a plain function fails on the first URL it sees).
    """
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"file", "data"}, allow_redirects=False)


def render_pdf(template: str, context: dict) -> bytes:
    from weasyprint import HTML

    html = render_to_string(template, context)
    return HTML(string=html, base_url=str(settings.BASE_DIR), url_fetcher=_no_network()).write_pdf()
