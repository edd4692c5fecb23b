from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from applications.models import MONEY, Loan


class Installment(models.Model):
    PENDING, PARTIAL, PAID, OVERDUE = "pending", "partially_paid", "paid", "overdue"
    STATUSES = [(PENDING, _("Pending")), (PARTIAL, _("Partially paid")), (PAID, _("Paid")), (OVERDUE, _("Overdue"))]

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="installments")
    number = models.PositiveIntegerField()
    due_date = models.DateField()
    principal = models.DecimalField(**MONEY)
    interest = models.DecimalField(**MONEY)
    paid_principal = models.DecimalField(**MONEY, default=0)
    paid_interest = models.DecimalField(**MONEY, default=0)
    penalty = models.DecimalField(_("penalty interest accrued"), **MONEY, default=0)
    paid_penalty = models.DecimalField(**MONEY, default=0)
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    paid_off_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["loan_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "number"], name="installment_number_once"),
            models.CheckConstraint(condition=Q(principal__gte=0) & Q(interest__gte=0), name="installment_non_negative"),
            models.CheckConstraint(
                condition=Q(paid_principal__lte=models.F("principal")) & Q(paid_interest__lte=models.F("interest"))
                & Q(paid_penalty__lte=models.F("penalty")),
                name="installment_not_overpaid",
            ),
        ]
        indexes = [
            # Nightly batch and allocation: a loan's unpaid installments by due date.
            models.Index(fields=["loan", "paid_off_on", "due_date"], name="installment_unpaid"),
        ]

    @property
    def total_due(self):
        return (self.principal - self.paid_principal) + (self.interest - self.paid_interest) + (self.penalty - self.paid_penalty)


class Repayment(models.Model):
    """A payment received for a loan. The reference is unique: the same payment twice is applied once (SPEC §5)."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="repayments")
    reference = models.CharField(_("reference"), max_length=64, unique=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    paid_on = models.DateField(_("paid on"))
    to_penalty = models.DecimalField(**MONEY)
    to_interest = models.DecimalField(**MONEY)
    to_principal = models.DecimalField(**MONEY)
    allocation = models.JSONField(default=list)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["paid_on", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="repayment_positive")]
