"""Codes a page shows, in the reader's language (issue 15 part 4): ``{{ check.owner_post|post_label }}`` (a post),
``{{ view.surface|surface_label }}`` (browser / API / admin), ``{{ row.disposition|disposition_label }}``."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy

from loancenter.posts import POST_LABELS

register = template.Library()

SURFACES = {"browser": gettext_lazy("browser"), "api": gettext_lazy("API"), "admin": gettext_lazy("admin site")}
DISPOSITIONS = {"inline": gettext_lazy("viewed"), "attachment": gettext_lazy("downloaded")}


@register.filter
def post_label(code) -> str:
    return str(POST_LABELS.get(code, code or ""))


@register.filter
def surface_label(code) -> str:
    return str(SURFACES.get(code, code or ""))


@register.filter
def disposition_label(code) -> str:
    return str(DISPOSITIONS.get(code, code or ""))
