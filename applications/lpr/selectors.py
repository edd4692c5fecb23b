"""Reading the LPR register."""

from __future__ import annotations

from datetime import date

from applications.lpr.models import LprPublication


def lpr_in_force(on: date) -> LprPublication | None:
    """The publication in force on ``on``: the latest confirmed one published on or before that day."""
    return (LprPublication.objects.filter(status=LprPublication.State.CONFIRMED, published_on__lte=on)
            .order_by("-published_on").first())


def lpr_history():
    return LprPublication.objects.select_related("filed_by", "decided_by").order_by("-published_on", "-id")
