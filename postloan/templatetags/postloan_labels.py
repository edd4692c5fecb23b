"""``{{ loan.grade|grade_label }}``, ``{{ loan.collection_tier|tier_label }}``: the five-level grade and the collection
tier in the reader's language (``special_mention`` → 关注), where the loan keeps the code (issue 15 part 4).
The loan's fields carry no choices (the grades belong to post-loan, above the loan's app), hence these filters."""

from __future__ import annotations

from django import template

from postloan.models import GRADE_LABELS, TIER_CHOICES

register = template.Library()
TIER_LABELS = dict(TIER_CHOICES)


@register.filter
def grade_label(code) -> str:
    return str(GRADE_LABELS.get(code, code or ""))


@register.filter
def tier_label(code) -> str:
    return str(TIER_LABELS.get(code or "", code))
