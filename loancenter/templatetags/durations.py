"""``{{ delta|duration }}`` and ``{{ since|waited }}``: the one duration format of the pages (``{% load durations %}``).

"4 天 2 小时", "5 小时", "不足 1 小时" (loancenter.lib.dates.format_duration); an empty value prints nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone

from loancenter.lib.dates import format_duration

register = template.Library()


@register.filter
def duration(value) -> str:
    if not isinstance(value, timedelta):
        return ""
    return format_duration(value)


@register.filter
def waited(since) -> str:
    """How long ago ``since`` (a moment) was, in the same format."""
    if not isinstance(since, datetime):
        return ""
    return format_duration(timezone.now() - since)
