"""The LPR publication register: each publication in force only once a second person confirms it (SPEC §16.32)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMModelMixin, transition

from loancenter.lib.fsm import StateField

LPR_RATE = {"max_digits": 7, "decimal_places": 6}


class LprPublication(FSMModelMixin, models.Model):
    """One monthly publication of the National Interbank Funding Center (1-year and 5-year-plus LPR).

    Filed by one `general` or `manager`, in force once another confirms it: a typo would reprice the book.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Awaiting confirmation")
        CONFIRMED = "confirmed", _("Confirmed (in force)")
        REJECTED = "rejected", _("Rejected")

    published_on = models.DateField(_("published on"))
    lpr_1y = models.DecimalField(_("1-year LPR"), **LPR_RATE)
    lpr_5y = models.DecimalField(_("5-year LPR"), **LPR_RATE)
    status = StateField(_("status"), default=State.PENDING, choices=State.choices, protected=True)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("filed by"))
    filed_at = models.DateTimeField(_("filed at"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("confirmed or rejected by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-published_on", "-id"]
        verbose_name = _("LPR publication")
        verbose_name_plural = _("LPR publications")
        constraints = [
            # One publication in force per date (a pending one may wait beside it only until decided).
            models.UniqueConstraint(fields=["published_on"], condition=Q(status="confirmed"), name="lpr_confirmed_once"),
            models.UniqueConstraint(fields=["published_on"], condition=Q(status="pending"), name="lpr_pending_once"),
            models.CheckConstraint(condition=Q(lpr_1y__gt=0) & Q(lpr_1y__lt=1) & Q(lpr_5y__gt=0) & Q(lpr_5y__lt=1),
                                   name="lpr_rates_fraction"),
        ]
        # The LPR in force on a day: the latest confirmed publication on or before it (selectors.lpr_in_force).
        indexes = [models.Index(fields=["published_on"], condition=Q(status="confirmed"), name="lpr_in_force")]

    def __str__(self) -> str:
        return f"LPR {self.published_on} 1Y {self.lpr_1y} 5Y {self.lpr_5y}"

    def rate(self, rate_type: str):
        return self.lpr_5y if rate_type == "lpr_5y" else self.lpr_1y

    @transition(field=status, source=State.PENDING, target=State.CONFIRMED)
    def confirm(self) -> None:
        pass

    @transition(field=status, source=State.PENDING, target=State.REJECTED)
    def reject(self) -> None:
        pass
