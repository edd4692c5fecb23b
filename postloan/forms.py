"""Inputs of the post-loan operations, shared by the browser pages and the API (like loancenter.transitions).

Only parsing lives here (types, choices, dates); every business rule is in postloan.rules and the services.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from applications.models import Customer, Guarantor
from loancenter.lib.money import RepaymentMethod
from postloan.models import (
    GRADE_CHOICES,
    CollectionAction,
    CollectionAgency,
    DebtorAssessment,
    ServicingRequest,
    WriteOff,
)

MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0.01")}
TEXTAREA = {"base_template": "textarea.html"}


class CollectionActionInput(serializers.Serializer):
    channel = serializers.ChoiceField(label=_("Channel"), choices=CollectionAction.CHANNELS)
    contacted_at = serializers.DateTimeField(label=_("Contacted at"))
    target = serializers.ChoiceField(label=_("Contacted"), choices=CollectionAction.TARGETS)
    phone = serializers.CharField(label=_("Phone number"), required=False, allow_blank=True, max_length=20)
    guarantor = serializers.PrimaryKeyRelatedField(label=_("Guarantor"), queryset=Guarantor.objects.select_related("customer"),
                                                   required=False, allow_null=True)
    agency = serializers.PrimaryKeyRelatedField(label=_("Agency"), queryset=CollectionAgency.objects.all(),
                                                required=False, allow_null=True)
    answered = serializers.BooleanField(label=_("Answered"), default=False)
    result = serializers.CharField(label=_("Result"), required=False, allow_blank=True, max_length=2000, style=TEXTAREA)
    promise_date = serializers.DateField(label=_("Promised payment date"), required=False, allow_null=True)
    promise_amount = serializers.DecimalField(label=_("Promised amount"), required=False, allow_null=True, **MONEY)


class NoteInput(serializers.Serializer):
    note = serializers.CharField(label=_("Note"), max_length=2000, style=TEXTAREA)


class OptionalNoteInput(serializers.Serializer):
    note = serializers.CharField(label=_("Note"), required=False, allow_blank=True, max_length=2000, style=TEXTAREA)


class AgencyInput(serializers.Serializer):
    name = serializers.CharField(label=_("Name"), max_length=100)
    licence_no = serializers.CharField(label=_("Licence number"), required=False, allow_blank=True, max_length=60)
    phone = serializers.CharField(label=_("Phone"), required=False, allow_blank=True, max_length=20)
    active = serializers.BooleanField(label=_("Active (on the whitelist)"), default=True)


BORROWER_INPUTS = {
    "name": serializers.CharField(label=_("New name"), required=False, max_length=50),
    "phone": serializers.CharField(label=_("New phone"), required=False, max_length=11),
    "address": serializers.CharField(label=_("New address"), required=False, max_length=200),
    "employer": serializers.CharField(label=_("New employer"), required=False, max_length=100),
    "occupation": serializers.CharField(label=_("New occupation"), required=False, max_length=50),
    "monthly_income": serializers.DecimalField(label=_("New monthly income"), required=False, max_digits=14, decimal_places=2),
    "monthly_debt_payment": serializers.DecimalField(label=_("New monthly debt payment"), required=False, max_digits=14,
                                                     decimal_places=2),
    # Rule 23: the other verified facts change through this reviewed request too.
    "civil_capacity": serializers.ChoiceField(label=_("New civil capacity"), required=False,
                                              choices=Customer.CAPACITY_CHOICES),
    "id_number": serializers.CharField(label=_("Corrected ID number"), required=False, max_length=18),
}


PLAN_METHOD_CHOICES = [(m, RepaymentMethod(m).label) for m in (RepaymentMethod.EQUAL_INSTALLMENT,
                                                               RepaymentMethod.EQUAL_PRINCIPAL)]


class ServicingInput(serializers.Serializer):
    kind = serializers.ChoiceField(label=_("Kind"), choices=ServicingRequest.KINDS)
    reason = serializers.CharField(label=_("Reason"), required=False, allow_blank=True, max_length=2000, style=TEXTAREA)
    amount = serializers.DecimalField(label=_("Amount to prepay"), required=False, allow_null=True, **MONEY)
    extension_months = serializers.IntegerField(label=_("Extension (months)"), required=False, allow_null=True, min_value=1,
                                                max_value=120)
    guarantor_consent = serializers.BooleanField(label=_("Guarantors' written consent received"), default=False)
    account_no = serializers.CharField(label=_("New repayment account"), required=False, allow_blank=True, max_length=34)
    bank = serializers.CharField(label=_("Bank"), required=False, allow_blank=True, max_length=100)
    changes = serializers.DictField(label=_("Borrower data changes"), required=False, write_only=True)
    plan_months = serializers.IntegerField(label=_("Plan installments (months)"), required=False, allow_null=True,
                                           min_value=1, max_value=120)
    plan_method = serializers.ChoiceField(label=_("Plan repayment method"), required=False, allow_blank=True,
                                          choices=PLAN_METHOD_CHOICES)

    def to_service(self) -> dict:
        data = dict(self.validated_data)
        if data.get("kind") == ServicingRequest.BORROWER and not data.get("changes"):
            data["changes"] = {}
        changes = data.pop("changes", None) or {}
        parsed = {}
        for key, value in changes.items():
            field = BORROWER_INPUTS.get(key)
            # A field rule 20 does not change here (the warning list, say) is the service's refusal, recorded with the
            # loan (SPEC §10), not a bare input error.
            parsed[key] = value if field is None else field.run_validation(value)
        if parsed:
            data["changes"] = parsed
        return data


def servicing_input_for(kind: str):
    """The browser form of one kind: only the fields that kind uses (borrower data as one field each)."""
    fields: dict = {"reason": ServicingInput._declared_fields["reason"]}
    if kind == ServicingRequest.PREPAY_PARTIAL:
        fields["amount"] = serializers.DecimalField(label=_("Amount to prepay"), **MONEY)
    elif kind == ServicingRequest.EXTENSION:
        fields["extension_months"] = serializers.IntegerField(label=_("Extension (months)"), min_value=1, max_value=120)
        fields["guarantor_consent"] = serializers.BooleanField(label=_("Guarantors' written consent received"), default=False)
    elif kind == ServicingRequest.ACCOUNT:
        fields["account_no"] = serializers.CharField(label=_("New repayment account"), max_length=34)
        fields["bank"] = serializers.CharField(label=_("Bank"), required=False, allow_blank=True, max_length=100)
    elif kind == ServicingRequest.PLAN:
        fields["plan_months"] = serializers.IntegerField(label=_("Plan installments (months)"), min_value=1, max_value=120)
        fields["plan_method"] = serializers.ChoiceField(label=_("Plan repayment method"), choices=PLAN_METHOD_CHOICES)
        fields["guarantor_consent"] = serializers.BooleanField(label=_("Guarantors' written consent received"), default=False)
    elif kind == ServicingRequest.BORROWER:
        fields.update({k: type(f)(**{**f._kwargs, "required": False}) for k, f in BORROWER_INPUTS.items()})
    return type(f"ServicingInput_{kind}", (serializers.Serializer,), {k: _fresh(f) for k, f in fields.items()})


def _fresh(field):
    return type(field)(*field._args, **field._kwargs)


class ExecuteInput(serializers.Serializer):
    paid_on = serializers.DateField(label=_("Paid on"))
    reference = serializers.CharField(label=_("Payment reference"), max_length=64)


class WriteOffInput(serializers.Serializer):
    reason = serializers.CharField(label=_("Reason"), max_length=4000, style=TEXTAREA)
    legal_documents = serializers.MultipleChoiceField(label=_("Legal documents"), choices=WriteOff.LEGAL_DOCUMENTS)


class RecoveryInput(serializers.Serializer):
    amount = serializers.DecimalField(label=_("Amount"), **MONEY)
    recovered_on = serializers.DateField(label=_("Recovered on"))
    reference = serializers.CharField(label=_("Reference"), max_length=64)
    note = serializers.CharField(label=_("Note"), required=False, allow_blank=True, max_length=2000, style=TEXTAREA)


class GradeChangeInput(serializers.Serializer):
    to_grade = serializers.ChoiceField(label=_("New grade"), choices=GRADE_CHOICES)
    reasons = serializers.CharField(label=_("Reasons"), max_length=4000, style=TEXTAREA)


class AssignmentInput(serializers.Serializer):
    agency = serializers.PrimaryKeyRelatedField(label=_("Agency"), queryset=CollectionAgency.objects.all())
    assigned_on = serializers.DateField(label=_("Assigned on"), required=False, allow_null=True)
    until = serializers.DateField(label=_("Agreed until"), required=False, allow_null=True)
    note = serializers.CharField(label=_("Note"), required=False, allow_blank=True, max_length=2000, style=TEXTAREA)

    def to_service(self) -> dict:
        data = dict(self.validated_data)
        data["agency_id"] = data.pop("agency").pk
        return data


class RecallInput(serializers.Serializer):
    reason = serializers.CharField(label=_("Reason for the recall"), max_length=2000, style=TEXTAREA)
    recalled_on = serializers.DateField(label=_("Recalled on"), required=False, allow_null=True)


class AssessmentInput(serializers.Serializer):
    stance = serializers.ChoiceField(label=_("Debtor"), choices=DebtorAssessment.STANCES)
    # A file id of the loan's or the borrower's folder; whether it is one is the service's rule (400 evidence_required).
    evidence = serializers.IntegerField(label=_("Evidence (file)"), required=False, allow_null=True, min_value=1,
                                        max_value=2**63 - 1)
    note = serializers.CharField(label=_("What the evidence shows"), required=False, allow_blank=True, max_length=2000,
                                 style=TEXTAREA)

    def to_service(self) -> dict:
        data = dict(self.validated_data)
        data["evidence_id"] = data.pop("evidence", None)
        data.setdefault("note", "")
        return data


class RevaluationInput(serializers.Serializer):
    value = serializers.DecimalField(label=_("Value"), **MONEY)
    valued_on = serializers.DateField(label=_("Valued on"))
    valuer = serializers.CharField(label=_("Valuer"), max_length=100)
    # A file id of the loan's or the borrower's folder; whether it is one is the service's rule (400 document_required).
    document = serializers.IntegerField(label=_("Valuation report (file)"), required=False, allow_null=True,
                                        min_value=1, max_value=2**63 - 1)

    def to_service(self) -> dict:
        data = dict(self.validated_data)
        data["document_id"] = data.pop("document", None)
        return data
