"""Scorecard versions, rate-grid rows and overrides (SPEC §15, §16.30)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMModelMixin, transition

from applications.catalog import CATEGORIES
from applications.pricing.scoring import RATINGS
from loancenter.lib.errors import Conflict
from loancenter.lib.fsm import StateField
from loancenter.lib.money import MoneyField

RATING_CHOICES = [(r, r) for r in RATINGS]
RATE = {"max_digits": 7, "decimal_places": 6}
# What a card is; a version once filed never changes them (a change is a new version).
CARD_FIELDS = ("category", "number", "base_points", "factors", "cutoffs", "note")


class ScorecardVersion(FSMModelMixin, models.Model):
    """One version of a product category's points scorecard.

    Filed by one person (``pending``), approved by another (``active``: the category's card from then on; the one
    before it is ``retired``) or rejected. Nothing of a filed version changes but its status; a version a loan was
    rated on never changes at all (the loan keeps its version, SPEC §16.30).
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Pending approval")
        ACTIVE = "active", _("In use")
        RETIRED = "retired", _("Retired")
        REJECTED = "rejected", _("Rejected")

    category = models.CharField(_("category"), max_length=16, choices=list(CATEGORIES.items()))
    number = models.PositiveIntegerField(_("version"))
    base_points = models.IntegerField(_("base points"), default=0)
    factors = models.JSONField(_("factors and points"), default=dict)
    cutoffs = models.JSONField(_("lowest score of each rating"), default=dict)
    note = models.TextField(_("what changed and why"), blank=True, validators=[MaxLengthValidator(2000)])
    status = StateField(_("status"), default=State.PENDING, choices=State.choices, protected=True)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("filed by"))
    filed_at = models.DateTimeField(_("filed at"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["category", "-number"]
        verbose_name = _("scorecard version")
        verbose_name_plural = _("scorecard versions")
        constraints = [
            models.UniqueConstraint(fields=["category", "number"], name="scorecard_version_once"),
            # One card in use per category: the rating at investigation reads it.
            models.UniqueConstraint(fields=["category"], condition=Q(status="active"), name="one_active_scorecard"),
        ]

    def __str__(self) -> str:
        return f"{CATEGORIES.get(self.category, self.category)} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            before = type(self).objects.filter(pk=self.pk).values(*CARD_FIELDS, "status").first()
            if before is not None:
                changed = [name for name in CARD_FIELDS if before[name] != getattr(self, name)]
                if changed or (before["status"] != self.status and self.in_use and self.status != self.State.RETIRED):
                    raise Conflict("scorecard_read_only", _(
                        "Scorecard %(card)s was filed and may not be edited; file a new version instead.")
                        % {"card": self})
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.status != self.State.PENDING or self.in_use:
            raise Conflict("scorecard_read_only", _("Scorecard %(card)s is kept: only a pending version that no loan "
                                                    "was rated on may be deleted.") % {"card": self})
        return super().delete(*args, **kwargs)

    @property
    def in_use(self) -> bool:
        """A loan was rated on it: read-only everywhere (SPEC §16.30)."""
        return self.pk is not None and self.rated_loans.exists()

    @transition(field=status, source=State.PENDING, target=State.ACTIVE)
    def approve(self) -> None:
        pass

    @transition(field=status, source=State.PENDING, target=State.REJECTED)
    def reject(self) -> None:
        pass

    @transition(field=status, source=State.ACTIVE, target=State.RETIRED)
    def retire(self) -> None:
        pass


class RateGridRow(models.Model):
    """One row of a product's rate grid (SPEC §15): for a rating, the rate range (fixed-rate products) or the spread
    over the LPR in basis points (LPR-linked products), and the largest amount. A bound left empty does not bind."""

    product = models.ForeignKey("applications.Product", on_delete=models.CASCADE, related_name="rate_grid",
                                verbose_name=_("product"))
    rating = models.CharField(_("rating"), max_length=1, choices=RATING_CHOICES)
    min_rate = models.DecimalField(_("minimum annual rate"), **RATE, null=True, blank=True,
                                   validators=[MinValueValidator(0), MaxValueValidator(1)])
    max_rate = models.DecimalField(_("maximum annual rate"), **RATE, null=True, blank=True,
                                   validators=[MinValueValidator(0), MaxValueValidator(1)])
    min_spread_bp = models.IntegerField(_("minimum spread (basis points)"), null=True, blank=True,
                                        validators=[MinValueValidator(-10000), MaxValueValidator(10000)])
    max_spread_bp = models.IntegerField(_("maximum spread (basis points)"), null=True, blank=True,
                                        validators=[MinValueValidator(-10000), MaxValueValidator(10000)])
    max_amount = MoneyField(_("maximum amount"), null=True, blank=True, validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["product_id", "rating"]
        verbose_name = _("rate grid row")
        verbose_name_plural = _("rate grid")
        constraints = [
            models.UniqueConstraint(fields=["product", "rating"], name="rate_grid_row_once"),
            models.CheckConstraint(condition=Q(min_rate__isnull=True) | Q(max_rate__isnull=True)
                                   | Q(max_rate__gte=models.F("min_rate")), name="rate_grid_rate_range"),
            models.CheckConstraint(condition=Q(min_spread_bp__isnull=True) | Q(max_spread_bp__isnull=True)
                                   | Q(max_spread_bp__gte=models.F("min_spread_bp")), name="rate_grid_spread_range"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.rating}"


class RateOverride(models.Model):
    """A proposal or an approval outside the loan's row of the rate grid, with its reason (SPEC §15)."""

    STEPS = [("pass_review", _("Review proposal")), ("approve", _("Approval"))]

    loan = models.ForeignKey("applications.Loan", on_delete=models.CASCADE, related_name="rate_overrides")
    step = models.CharField(_("step"), max_length=16, choices=STEPS)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("by"))
    at = models.DateTimeField(_("at"), auto_now_add=True)
    rating = models.CharField(_("rating"), max_length=1, blank=True)
    amount = MoneyField(_("amount"))
    annual_rate = models.DecimalField(_("annual rate"), **RATE, null=True, blank=True)
    spread_bp = models.IntegerField(_("spread (basis points)"), null=True, blank=True)
    deviations = models.JSONField(_("outside the grid"), default=list)
    reason = models.TextField(_("override reason"), validators=[MaxLengthValidator(2000)])

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("rate-grid override")
        verbose_name_plural = _("rate-grid overrides")
        # The override list and rate per approver over a period.
        indexes = [models.Index(fields=["step", "actor", "at"], name="rate_override_actor")]
