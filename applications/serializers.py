"""API input and output for customers, products and loans (SPEC §9: names are a contract).

Serializers parse and shape data only. Every business rule stays in ``services.py``/``rules.py``;
a serializer's own checks are about types, lengths and choices (what a form field would check).
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from applications.catalog import COLLATERAL_KINDS, DOCUMENTS, PURPOSES, RELATIONSHIPS, REPRICING_RULE_CHOICES
from applications.models import Collateral, Customer, Loan, Product
from applications.selectors import customers_visible_to, exposure_shown
from applications.services import ApplicationInput
from loancenter.lib.identifiers import CERTIFICATE_NO, IdentifierSerializerField, IdentifierSerializerMixin
from loancenter.lib.money import REPAYMENT_METHODS

MONEY = {"max_digits": 14, "decimal_places": 2}


class RateField(serializers.DecimalField):
    """A rate or ratio as a plain decimal string without trailing zeros: ``"0.0435"`` (SPEC §9)."""

    def to_representation(self, value):
        if value is None:
            return None
        text = format(Decimal(value).normalize(), "f")
        return text if "." in text else f"{text}.0"


@extend_schema_field(OpenApiTypes.INT)
class VisibleCustomerField(serializers.PrimaryKeyRelatedField):
    """A customer id the caller may see; any other id reads as "does not exist" (no existence leak)."""

    def get_queryset(self):
        return customers_visible_to(self.context["request"].user)


def VERSION_FIELD(**kwargs) -> serializers.IntegerField:  # noqa: N802 - reads like the field class it returns
    """The record's version (rule 22): answered by GET (also as the ETag); a PATCH may send the version it read, and
    a stale one is refused with 409 ``stale_edit``. Leaving it out applies the edit as before."""
    return serializers.IntegerField(required=False, min_value=1, help_text=_(
        "The version you read (rule 22). Send it back (or If-Match with the ETag) so that a stale edit is refused."),
        **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# Customers


class CustomerSerializer(IdentifierSerializerMixin, serializers.ModelSerializer):
    """``id_number`` and ``phone`` come back masked unless the view sets ``context["full_pii"]``.

    Both are normalised before they are validated (rule 25): a full-width twin of a registered ID number is a 400.
    """

    age = serializers.IntegerField(read_only=True)
    officer = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reason = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=1000,
                                   help_text=_("Why the warning-list flag changes (audited)."))
    version = VERSION_FIELD()

    class Meta:
        model = Customer
        fields = [
            "id", "name", "id_number", "phone", "address", "employer", "occupation", "monthly_income",
            "monthly_debt_payment", "civil_capacity", "on_warning_list", "birth_date", "gender", "age",
            "region", "industry", "employment_years", "residence", "officer", "unit", "created_at", "reason", "version",
        ]
        read_only_fields = ["birth_date", "gender", "created_at", "unit"]

    def validate_id_number(self, value: str) -> str:
        if self.instance is not None and value != self.instance.id_number:
            raise serializers.ValidationError(_("The ID number of a registered customer cannot be changed."))
        return value

    def validate_on_warning_list(self, value: bool) -> bool:
        if self.instance is None and value:
            raise serializers.ValidationError(_("Put a customer on the warning list with PATCH (reviewer or manager)."))
        return value

    def to_representation(self, instance: Customer) -> dict:
        data = super().to_representation(instance)
        if not self.context.get("full_pii"):
            data["id_number"] = instance.masked_id_number
            data["phone"] = instance.masked_phone
        return data


# ---------------------------------------------------------------------------------------------------------------
# Products


class RateGridRowSerializer(serializers.Serializer):
    """One row of a product's rate grid (SPEC §15): a rate range for fixed-rate products, a spread range in basis
    points for LPR-linked ones, and the largest amount; an empty bound does not bind."""

    rating = serializers.ChoiceField(choices=["A", "B", "C", "D", "E"])
    min_rate = RateField(max_digits=7, decimal_places=6, min_value=Decimal("0"), max_value=Decimal("1"),
                         required=False, allow_null=True, default=None)
    max_rate = RateField(max_digits=7, decimal_places=6, min_value=Decimal("0"), max_value=Decimal("1"),
                         required=False, allow_null=True, default=None)
    min_spread_bp = serializers.IntegerField(min_value=-10000, max_value=10000, required=False, allow_null=True,
                                             default=None)
    max_spread_bp = serializers.IntegerField(min_value=-10000, max_value=10000, required=False, allow_null=True,
                                             default=None)
    max_amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"), required=False, allow_null=True,
                                          default=None)


class ProductSerializer(serializers.ModelSerializer):
    min_amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"))
    max_amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"))
    min_rate = RateField(max_digits=7, decimal_places=6, min_value=Decimal("0"), max_value=Decimal("1"))
    max_rate = RateField(max_digits=7, decimal_places=6, min_value=Decimal("0"), max_value=Decimal("1"))
    max_ltv = RateField(max_digits=5, decimal_places=4, min_value=Decimal("0"), max_value=Decimal("1"),
                        required=False, allow_null=True)
    max_dti = RateField(max_digits=5, decimal_places=4, min_value=Decimal("0"), max_value=Decimal("1"))
    investigation_rate = RateField(max_digits=5, decimal_places=4, min_value=Decimal("0"), max_value=Decimal("1"),
                                   required=False)
    penalty_markup = RateField(max_digits=5, decimal_places=4, min_value=Decimal("0"), required=False)
    repayment_methods = serializers.ListField(child=serializers.ChoiceField(choices=REPAYMENT_METHODS),
                                              allow_empty=False)
    required_documents = serializers.ListField(child=serializers.ChoiceField(choices=list(DOCUMENTS)), required=False)
    allowed_purposes = serializers.ListField(child=serializers.ChoiceField(choices=list(PURPOSES)), required=False)
    rate_grid = RateGridRowSerializer(many=True, required=False, help_text=_(
        "Per rating: the rate (or spread) range and the largest amount (SPEC §15); replaced as a whole when sent."))
    version = VERSION_FIELD()

    class Meta:
        model = Product
        fields = [
            "id", "code", "name", "category", "min_amount", "max_amount", "min_term_months", "max_term_months",
            "repayment_methods", "min_rate", "max_rate", "secured", "max_ltv", "max_dti", "dual_investigation",
            "investigation_rate", "max_age_at_maturity", "penalty_markup", "required_documents", "allowed_purposes",
            "appraisal_validity_days", "rate_grid", "active", "version", "rate_type",
        ]


# ---------------------------------------------------------------------------------------------------------------
# Loans: input


class GuarantorInput(serializers.Serializer):
    id = serializers.IntegerField(required=False, allow_null=True, help_text=_(
        "The guarantor row this is (from GET); without it the row is matched by the guarantor."))
    customer = VisibleCustomerField()
    relationship = serializers.ChoiceField(choices=list(RELATIONSHIPS))


class CollateralInput(serializers.Serializer):
    id = serializers.IntegerField(required=False, allow_null=True, help_text=_(
        "The collateral row this is (from GET): updated in place. Without it a row equal to an existing one is that "
        "row, any other is added; rows not listed are removed."))
    version = VERSION_FIELD(allow_null=True)
    kind = serializers.ChoiceField(choices=list(COLLATERAL_KINDS))
    description = serializers.CharField(max_length=200)
    owner_name = serializers.CharField(max_length=50)
    certificate_no = IdentifierSerializerField(kind=CERTIFICATE_NO, max_length=50, required=False, allow_blank=True,
                                               default="")
    appraised_value = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"))
    appraised_on = serializers.DateField()
    disposer_consent = serializers.BooleanField(default=False)


class LoanInput(serializers.Serializer):
    """``POST /api/loans/`` and ``PATCH /api/loans/{id}/`` (a draft): the application as SPEC §9 names it."""

    customer = VisibleCustomerField()
    product = serializers.SlugRelatedField(slug_field="code", queryset=Product.objects.all())
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"))
    term_months = serializers.IntegerField(min_value=1, max_value=360)
    repayment_method = serializers.ChoiceField(choices=REPAYMENT_METHODS)
    purpose = serializers.ChoiceField(choices=list(PURPOSES))
    purpose_detail = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    long_term_reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    interviewed_on = serializers.DateField(required=False, allow_null=True, default=None)
    credit_authorised = serializers.BooleanField(required=False, default=False)
    guarantors = GuarantorInput(many=True, required=False, default=list)
    collaterals = CollateralInput(many=True, required=False, default=list)
    documents = serializers.ListField(child=serializers.ChoiceField(choices=list(DOCUMENTS)), required=False,
                                      default=list, help_text=_("Codes of the documents received."))
    version = VERSION_FIELD()

    def to_representation(self, instance):
        # The browsable API pre-fills its PATCH form from the loan.
        return super().to_representation(_application_of(instance) if isinstance(instance, Loan) else instance)

    def application(self, base: Loan | None = None) -> ApplicationInput:
        """The validated data as the service's input; on a partial update the draft fills in what is absent."""
        data = dict(self.validated_data)
        if base is not None:
            current = _application_of(base)
            # Rows the client did not send are kept as they are, without a version check of their own.
            current["collaterals"] = [{k: v for k, v in row.items() if k != "version"} for row in current["collaterals"]]
            data = {**current, **{k: v for k, v in data.items() if k in self.initial_data}}
        return ApplicationInput(
            customer=data["customer"], product=data["product"], amount=data["amount"],
            term_months=data["term_months"], repayment_method=data["repayment_method"], purpose=data["purpose"],
            purpose_detail=data.get("purpose_detail", ""), long_term_reason=data.get("long_term_reason", ""),
            interviewed_on=data.get("interviewed_on"), credit_authorised=data.get("credit_authorised", False),
            guarantors=[(g["customer"], g["relationship"], g.get("id")) for g in data.get("guarantors", [])],
            collaterals=[dict(c) for c in data.get("collaterals", [])],
            documents=list(data.get("documents", [])),
        )


_COLLATERAL_FIELDS = ("kind", "description", "owner_name", "certificate_no", "appraised_value", "appraised_on",
                      "disposer_consent")


def _application_of(loan: Loan) -> dict:
    return {
        "customer": loan.customer, "product": loan.product, "amount": loan.amount, "term_months": loan.term_months,
        "repayment_method": loan.repayment_method, "purpose": loan.purpose, "purpose_detail": loan.purpose_detail,
        "long_term_reason": loan.long_term_reason, "interviewed_on": loan.interviewed_on,
        "credit_authorised": loan.credit_authorised,
        "guarantors": [{"id": g.pk, "customer": g.customer, "relationship": g.relationship}
                       for g in loan.guarantors.select_related("customer").order_by("pk")],
        "collaterals": [{"id": c.pk, "version": c.version, **{k: getattr(c, k) for k in _COLLATERAL_FIELDS}}
                        for c in loan.collaterals.order_by("pk")],
        "version": loan.version,
        "documents": [d.code for d in loan.documents.all()],
    }


# ---------------------------------------------------------------------------------------------------------------
# Loans: output


class GuarantorOutput(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    customer_name = serializers.CharField(source="customer.name")
    relationship = serializers.ChoiceField(choices=list(RELATIONSHIPS))


class CollateralOutput(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=list(COLLATERAL_KINDS), read_only=True)

    class Meta:
        model = Collateral
        fields = ["id", *_COLLATERAL_FIELDS, "version"]


def servicing_figures(loan: Loan) -> dict:
    """Days past due, collection tier, grade and balance as disbursement and the nightly batch keep them (SPEC §6).

    The one place that reads them for the API; an empty tier or grade is ``null``.
    """
    return {
        "days_past_due": loan.days_past_due,
        "collection_tier": loan.collection_tier or None,
        "grade": loan.grade or None,
        "outstanding_principal": f"{Decimal(loan.outstanding_principal):.2f}",
    }


class LoanSummarySerializer(serializers.ModelSerializer):
    """One row of ``GET /api/loans/`` (no per-loan queries: customer, product and officer are joined)."""

    customer = serializers.IntegerField(source="customer_id", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    product = serializers.CharField(source="product.code", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    marketing_officer = serializers.CharField(source="marketing_officer.username", read_only=True)
    days_past_due = serializers.IntegerField(read_only=True)
    collection_tier = serializers.ChoiceField(choices=["T1", "T2", "T3"], allow_null=True, read_only=True)
    grade = serializers.ChoiceField(choices=["normal", "special_mention", "substandard", "doubtful", "loss"],
                                    allow_null=True, read_only=True)
    outstanding_principal = serializers.DecimalField(**MONEY, read_only=True)
    # The same choice sets as the input serializers, so the schema names each set once.
    repayment_method = serializers.ChoiceField(choices=REPAYMENT_METHODS, read_only=True)
    purpose = serializers.ChoiceField(choices=list(PURPOSES), read_only=True)

    class Meta:
        model = Loan
        fields = [
            "id", "application_no", "customer", "customer_name", "product", "product_name", "marketing_officer",
            "amount", "term_months", "repayment_method", "purpose", "status", "created_at", "status_changed_at",
            "submitted_at", "days_past_due", "collection_tier", "grade", "outstanding_principal", "unit",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Loan) -> dict:
        data = super().to_representation(instance)
        data.update(servicing_figures(instance))
        return data


class LoanSerializer(LoanSummarySerializer):
    """``GET /api/loans/{id}/``: the application, the decisions so far and what the caller may do next."""

    guarantors = GuarantorOutput(many=True, read_only=True)
    collaterals = CollateralOutput(many=True, read_only=True)
    documents = serializers.SerializerMethodField()
    reviewer = serializers.CharField(source="reviewer.username", read_only=True, allow_null=True, default=None)
    approver = serializers.CharField(source="approver.username", read_only=True, allow_null=True, default=None)
    proposed_rate = RateField(max_digits=7, decimal_places=6, read_only=True, allow_null=True)
    annual_rate = RateField(max_digits=7, decimal_places=6, read_only=True, allow_null=True)
    terms = serializers.SerializerMethodField(help_text=_("The terms kept at approval (rule 29); null before it."))
    exposure = serializers.SerializerMethodField(
        help_text=_("The customer's total exposure the authority check measures (rule 27): as decided on once "
                    "decided, live before."))
    verified_facts = serializers.SerializerMethodField(
        help_text=_("The borrower's facts as the investigation verified them (rule 23); null before it."))
    approved_guarantee = serializers.JSONField(read_only=True, help_text=_("The guarantee terms approved (rule 31)."))
    rating = serializers.CharField(read_only=True, allow_null=True, help_text=_(
        "The risk rating A–E computed when the investigation completed (SPEC §15); null before it."))
    rating_reasons = serializers.SerializerMethodField(help_text=_(
        "The three factors that cost the most points, each with its points and the factor's most."))
    scorecard_version = serializers.SerializerMethodField()
    available_transitions = serializers.SerializerMethodField()
    # SPEC §15: the pricing (kept at approval; the product's rate type before it), the rate now and the next repricing.
    rate_type = serializers.SerializerMethodField()
    lpr_at_approval = RateField(max_digits=7, decimal_places=6, read_only=True, allow_null=True)
    current_rate = RateField(max_digits=7, decimal_places=6, read_only=True, allow_null=True)
    next_repricing_on = serializers.DateField(read_only=True, allow_null=True)
    # Declared (not generated): a read-only model field loses allow_blank, and a fixed-rate loan's rule is "".
    repricing_rule = serializers.ChoiceField(choices=REPRICING_RULE_CHOICES, read_only=True, allow_blank=True, help_text=_(
        "When an LPR-linked loan reprices, chosen at contract signing; blank for a fixed-rate loan or before signing."))

    class Meta(LoanSummarySerializer.Meta):
        fields = [
            *LoanSummarySerializer.Meta.fields,
            "purpose_detail", "long_term_reason", "interviewed_on", "credit_authorised", "guarantors", "collaterals",
            "documents", "reviewer", "reviewed_at", "review_opinion", "proposed_amount", "proposed_term_months",
            "proposed_rate", "proposed_method", "approver", "approved_amount", "approved_term_months", "annual_rate",
            "approved_method", "decided_at", "customer_notified_on", "decision_reason", "approved_guarantee", "terms",
            "exposure", "verified_facts", "score", "rating", "rating_reasons", "scorecard_version",
            "available_transitions", "version",
            "rate_type", "spread_bp", "proposed_spread_bp", "lpr_at_approval", "lpr_published_on", "repricing_rule",
            "current_rate", "next_repricing_on",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Loan) -> dict:
        data = super().to_representation(instance)
        data["rating"] = instance.rating or None
        return data

    @extend_schema_field(inline_serializer("RatingReason", {
        "factor": serializers.CharField(), "text": serializers.CharField(), "points": serializers.IntegerField(),
        "max_points": serializers.IntegerField(), "value": serializers.CharField(allow_null=True),
    }, many=True))
    def get_rating_reasons(self, loan: Loan) -> list[dict]:
        from applications.pricing.services import reason_text

        return [{**reason, "text": reason_text(reason)} for reason in loan.rating_reasons or []]

    @extend_schema_field(inline_serializer("ScorecardRef", {
        "id": serializers.IntegerField(), "category": serializers.CharField(), "number": serializers.IntegerField(),
    }, allow_null=True))
    def get_scorecard_version(self, loan: Loan) -> dict | None:
        version = loan.scorecard_version
        return None if version is None else {"id": version.pk, "category": version.category, "number": version.number}

    @extend_schema_field(serializers.ChoiceField(choices=["fixed", "lpr_1y", "lpr_5y"]))
    def get_rate_type(self, loan: Loan) -> str:
        return loan.rate_type or loan.product.rate_type

    def get_documents(self, loan: Loan) -> list[str]:
        return [d.code for d in loan.documents.all()]

    @extend_schema_field(inline_serializer("LoanTerms", {
        "rate_type": serializers.CharField(), "annual_rate": serializers.CharField(),
        "penalty_markup": serializers.CharField(), "amount": serializers.CharField(),
        "term_months": serializers.IntegerField(), "repayment_method": serializers.CharField(),
        "spread_bp": serializers.IntegerField(allow_null=True), "lpr": serializers.CharField(allow_null=True),
    }, allow_null=True))
    def get_terms(self, loan: Loan) -> dict | None:
        terms = loan.terms
        return terms.as_dict() if terms is not None else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_exposure(self, loan: Loan) -> str | None:
        value = exposure_shown(loan)
        return f"{value:.2f}" if value is not None else None

    @extend_schema_field(inline_serializer("VerifiedFacts", {
        "verified_at": serializers.DateTimeField(), "monthly_income": serializers.CharField(),
        "monthly_debt": serializers.CharField(), "civil_capacity": serializers.CharField(),
        "birth_date": serializers.DateField(),
    }, allow_null=True))
    def get_verified_facts(self, loan: Loan) -> dict | None:
        if loan.verified_at is None:
            return None
        return {"verified_at": serializers.DateTimeField().to_representation(loan.verified_at),
                "monthly_income": f"{loan.verified_monthly_income:.2f}",
                "monthly_debt": f"{loan.verified_monthly_debt:.2f}",
                "civil_capacity": loan.verified_civil_capacity, "birth_date": loan.verified_birth_date.isoformat()}

    def get_available_transitions(self, loan: Loan) -> list[str]:
        from applications.workflow import available_transitions

        request = self.context.get("request")
        return available_transitions(loan, request.user) if request is not None else []


class AuditEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    action = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    payload = serializers.JSONField()
    reason = serializers.CharField()
