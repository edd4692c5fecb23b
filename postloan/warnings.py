"""Warning levels (预警线) on the dashboard's risk figures: set by the center manager (or an admin), kept with history.

Each change is a new ``WarningLevel`` row; the current level of a figure is its latest row. A figure breaches its
level when it is above an "above" level or below a "below" one; breached ones show in red at the top of the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loancenter import posts as P
from loancenter.lib.errors import RuleViolation
from loancenter.refusals import recorded
from loancenter.rules import require_post
from postloan.models import WarningLevel
from postloan.reports import pct_text

# The figures a level can be set on (Portfolio attribute → label). All are ratios (0.05 = 5 %).
FIGURES = {
    "overdue_rate": gettext_lazy("Overdue rate"),
    "npl_rate": gettext_lazy("Non-performing rate"),
    "bad_debt_rate": gettext_lazy("Bad-debt rate"),
    "interest_collection_rate": gettext_lazy("Interest collection rate"),
    "recovery_rate": gettext_lazy("Recovery rate"),
    "approval_rate": gettext_lazy("Approval rate"),
    "rejection_rate": gettext_lazy("Rejection rate"),
}


def can_set_warnings(user) -> bool:
    return user.has_post(P.MANAGER)


@recorded("warning_level_set")
def warning_level_set(*, actor, figure: str, threshold, direction: str) -> WarningLevel:
    """A new current level for ``figure`` (the previous ones stay as history). The manager only (a superuser
    without the post neither: SPEC §16.14)."""
    require_post(actor, P.MANAGER)
    if figure not in FIGURES:
        raise RuleViolation("unknown_figure", _("Unknown figure: %(figure)s") % {"figure": figure}, field="figure")
    if direction not in (WarningLevel.ABOVE, WarningLevel.BELOW):
        raise RuleViolation("bad_direction", _("The direction must be above or below."), field="direction")
    try:
        value = Decimal(str(threshold))
    except (InvalidOperation, ValueError):
        raise RuleViolation("bad_threshold", _("The threshold must be a number."), field="threshold") from None
    if not value.is_finite() or value < 0 or value > 1:
        raise RuleViolation("bad_threshold", _("The threshold is a ratio between 0 and 1 (0.05 = 5%)."),
                            field="threshold")
    with transaction.atomic():
        return WarningLevel.objects.create(figure=figure, threshold=value, direction=direction, set_by=actor)


def current_levels() -> dict[str, WarningLevel]:
    """The latest level of each figure (one query over a table of a few rows per figure)."""
    levels: dict[str, WarningLevel] = {}
    for level in WarningLevel.objects.select_related("set_by").order_by("figure", "-set_at", "-id"):
        levels.setdefault(level.figure, level)
    return levels


@dataclass
class FigureWarning:
    figure: str
    label: str
    value: Decimal | None
    level: WarningLevel | None

    @property
    def breached(self) -> bool:
        return self.level is not None and self.level.breached(self.value)

    @property
    def value_text(self) -> str:
        return pct_text(self.value)

    @property
    def threshold_text(self) -> str:
        return pct_text(self.level.threshold) if self.level else ""


def evaluate(portfolio, levels: dict[str, WarningLevel] | None = None) -> list[FigureWarning]:
    levels = current_levels() if levels is None else levels
    return [FigureWarning(code, str(label), getattr(portfolio, code), levels.get(code)) for code, label in FIGURES.items()]


def history(limit: int = 100) -> list[WarningLevel]:
    return list(WarningLevel.objects.select_related("set_by").order_by("-set_at", "-id")[:limit])
