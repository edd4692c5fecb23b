"""API input and output for the schedule and repayments (SPEC §9: amounts are strings with two decimals)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from postloan.models import Installment, Repayment

MONEY = {"max_digits": 14, "decimal_places": 2}


class InstallmentSerializer(serializers.ModelSerializer):
    """One installment of ``GET /api/loans/{id}/schedule/``."""

    principal = serializers.DecimalField(**MONEY)
    interest = serializers.DecimalField(**MONEY)
    paid_principal = serializers.DecimalField(**MONEY)
    paid_interest = serializers.DecimalField(**MONEY)
    penalty = serializers.DecimalField(**MONEY)
    paid_penalty = serializers.DecimalField(**MONEY)
    status = serializers.ChoiceField(choices=Installment.STATUSES)

    class Meta:
        model = Installment
        fields = ["number", "due_date", "principal", "interest", "paid_principal", "paid_interest", "penalty",
                  "paid_penalty", "status", "paid_off_on", "repriced_on"]
        read_only_fields = fields


class AllocationLineSerializer(serializers.Serializer):
    """What one payment paid on one installment."""

    installment = serializers.IntegerField()
    penalty = serializers.DecimalField(**MONEY)
    interest = serializers.DecimalField(**MONEY)
    principal = serializers.DecimalField(**MONEY)


class RepaymentSerializer(serializers.ModelSerializer):
    """A posted payment and its allocation (penalty → interest → principal, oldest installment first)."""

    amount = serializers.DecimalField(**MONEY)
    to_penalty = serializers.DecimalField(**MONEY)
    to_interest = serializers.DecimalField(**MONEY)
    to_principal = serializers.DecimalField(**MONEY)
    allocation = AllocationLineSerializer(many=True)
    posted_by = serializers.CharField(source="posted_by.username")

    class Meta:
        model = Repayment
        fields = ["id", "loan", "reference", "amount", "paid_on", "to_penalty", "to_interest", "to_principal",
                  "allocation", "posted_by", "created_at"]
        read_only_fields = fields


class RepaymentInput(serializers.Serializer):
    """``POST /api/loans/{id}/repayments/`` and the staff form.

    The amount is parsed as it comes (no rounding): zero, negative, over-precise or too large amounts are refused
    by ``postloan.services.repayment_post`` with a ``code``, so both surfaces say the same thing.
    """

    amount = serializers.DecimalField(label=_("Amount"), max_digits=None, decimal_places=None,
                                      help_text=_("Positive, at most two decimals, not more than everything owed."))
    paid_on = serializers.DateField(label=_("Paid on"))
    reference = serializers.CharField(label=_("Reference"), max_length=64,
                                      help_text=_("The payment's unique reference; the same reference is applied once."))
