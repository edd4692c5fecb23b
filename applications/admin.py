"""Admin for customers, products and loans.

Customers and loans are read-only here: a customer's details change through ``customer_update`` (audited),
and a loan changes only through its transition services, so its FSM ``status`` can never be edited here.
Products are maintained by the general post and the manager through ``product_save``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from applications.catalog import DOCUMENTS, PURPOSES, REPAYMENT_METHOD_LABELS
from applications.forms import product_percent_field
from applications.models import (
    Collateral,
    Customer,
    Guarantor,
    Investigation,
    Loan,
    LoanDocument,
    Product,
    RateGridRow,
    RateOverride,
    ScorecardVersion,
)
from applications.pricing.services import scorecard_approve, scorecard_file, scorecard_reject
from applications.services import PRODUCT_FIELDS, check_product, product_save
from loancenter.admin_site import ReadOnlyAdmin, ReadOnlyInline, ServiceBackedAdmin, holds_admin_post
from loancenter.lib.errors import DomainError
from loancenter.models import AuditEntry


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    """ID and phone numbers stay masked here; the full numbers are shown (and recorded) in the loan pages."""

    list_display = ("name", "masked_id_number", "masked_phone", "gender", "age", "officer", "civil_capacity",
                    "on_warning_list")
    list_filter = ("on_warning_list", "civil_capacity", "gender")
    search_fields = ("name",)
    list_select_related = ("officer",)
    fields = ("name", "masked_id_number", "masked_phone", "gender", "birth_date", "age", "address", "employer",
              "occupation", "monthly_income", "monthly_debt_payment", "employment_years", "residence", "civil_capacity",
              "on_warning_list", "officer", "created_at")
    readonly_fields = fields

    @admin.display(description=_("ID number"))
    def masked_id_number(self, obj: Customer) -> str:
        return obj.masked_id_number

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Customer) -> str:
        return obj.masked_phone

    @admin.display(description=_("age"))
    def age(self, obj: Customer) -> int:
        return obj.age


def _choices(mapping) -> list[tuple[str, str]]:
    return [(code, label) for code, label in mapping.items()]


class ProductForm(forms.ModelForm):
    # Rates and ratios typed as percentages, as on the product page (issue 15 part 5).
    min_rate = product_percent_field("min_rate")
    max_rate = product_percent_field("max_rate")
    max_ltv = product_percent_field("max_ltv", required=False)
    max_dti = product_percent_field("max_dti")
    investigation_rate = product_percent_field("investigation_rate")
    penalty_markup = product_percent_field("penalty_markup", max_percent=None)
    repayment_methods = forms.MultipleChoiceField(
        label=_("repayment methods"), choices=_choices(REPAYMENT_METHOD_LABELS), widget=forms.CheckboxSelectMultiple)
    required_documents = forms.MultipleChoiceField(
        label=_("required documents"), choices=_choices(DOCUMENTS), widget=forms.CheckboxSelectMultiple,
        required=False)
    allowed_purposes = forms.MultipleChoiceField(
        label=_("allowed purposes"), choices=_choices(PURPOSES), widget=forms.CheckboxSelectMultiple,
        required=False, help_text=_("Empty: any purpose that is not prohibited."))
    # The version the change form showed (rule 22): a save over someone else's newer one is refused. (Not named
    # ``version``: the admin would take that for the model's non-editable field.)
    edit_version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    class Meta:
        model = Product
        fields = PRODUCT_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["edit_version"].initial = self.instance.version
        if "rate_type" in self.fields:
            self.fields["rate_type"].required = False  # SPEC §16.4: optional, unsent means fixed

    def clean_rate_type(self) -> str:
        return self.cleaned_data.get("rate_type") or "fixed"

    def clean(self):
        cleaned = super().clean()
        # The product rules of the service, as form errors instead of a failed save.
        candidate = Product(**{k: v for k, v in cleaned.items() if k in PRODUCT_FIELDS})
        try:
            check_product(candidate)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        return cleaned


@admin.register(Product)
class ProductAdmin(ServiceBackedAdmin):
    form = ProductForm
    list_display = ("code", "name", "category", "min_amount", "max_amount", "min_term_months", "max_term_months",
                    "secured", "dual_investigation", "active")
    list_filter = ("category", "secured", "active")
    search_fields = ("code", "name")

    def has_add_permission(self, request, obj=None):
        return holds_admin_post(request.user)

    def has_change_permission(self, request, obj=None):
        return holds_admin_post(request.user)

    def save_model(self, request, obj, form, change):
        data = {k: form.cleaned_data[k] for k in PRODUCT_FIELDS if k in form.cleaned_data}
        saved = product_save(actor=request.user, data=data, product_id=obj.pk if change else None,
                             version=form.cleaned_data.get("edit_version") if change else None)
        obj.pk = saved.pk


class GuarantorInline(ReadOnlyInline):
    model = Guarantor
    fields = ("customer", "relationship")


class CollateralInline(ReadOnlyInline):
    model = Collateral
    fields = ("kind", "description", "owner_name", "certificate_no", "appraised_value", "appraised_on",
              "disposer_consent")


class DocumentInline(ReadOnlyInline):
    model = LoanDocument
    fields = ("code", "received_on")


class InvestigationInline(ReadOnlyInline):
    model = Investigation
    fields = ("assignee", "started_at", "field_visit_required", "field_visit_on", "opinion", "recommended_amount",
              "recommended_term_months", "completed_at")


class AuditInline(ReadOnlyInline):
    model = AuditEntry
    fk_name = "loan"
    fields = ("at", "actor", "action", "from_status", "to_status", "reason")
    verbose_name_plural = _("audit trail")


@admin.register(Loan)
class LoanAdmin(ReadOnlyAdmin):
    """View only: every change to a loan is a transition service (lock, rules, audit row)."""

    list_display = ("__str__", "customer", "product", "amount", "term_months", "status", "marketing_officer",
                    "status_changed_at")
    list_filter = ("status", "product")
    search_fields = ("application_no", "customer__name")
    list_select_related = ("customer", "product", "marketing_officer")
    date_hierarchy = "created_at"
    inlines = [GuarantorInline, CollateralInline, DocumentInline, InvestigationInline, AuditInline]


# ---------------------------------------------------------------------------------------------------------------
# Risk rating (SPEC §15): scorecard versions are filed here (a new version) and approved by another person with the
# actions; a filed version is never changed, here or anywhere (applications.pricing.models.ScorecardVersion.save).


class ScorecardVersionForm(forms.ModelForm):
    factors = forms.JSONField(label=_("factors and points"))
    cutoffs = forms.JSONField(label=_("lowest score of each rating"))

    class Meta:
        model = ScorecardVersion
        fields = ("category", "base_points", "factors", "cutoffs", "note")


@admin.register(ScorecardVersion)
class ScorecardVersionAdmin(ServiceBackedAdmin):
    form = ScorecardVersionForm
    list_display = ("__str__", "category", "number", "status", "filed_by", "decided_by", "filed_at")
    list_filter = ("category", "status")
    readonly_fields = ("category", "number", "base_points", "factors", "cutoffs", "note", "status", "filed_by",
                       "filed_at", "decided_by", "decided_at")
    actions = ["approve_versions", "reject_versions"]

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ScorecardVersionForm.Meta.fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def has_add_permission(self, request, obj=None):
        return holds_admin_post(request.user)

    def get_actions(self, request):
        return super().get_actions(request) if holds_admin_post(request.user) else {}

    def save_model(self, request, obj, form, change):
        if change:  # nothing of a filed version changes (the fields are read-only; this is the backstop)
            return
        data = form.cleaned_data
        saved = scorecard_file(actor=request.user, category=data["category"], factors=data["factors"],
                               cutoffs=data["cutoffs"], base_points=data.get("base_points") or 0,
                               note=data.get("note", ""))
        obj.pk = saved.pk

    @admin.action(description=_("Approve and put in use (another person than the filer)"))
    def approve_versions(self, request, queryset):
        self._decide(request, queryset, scorecard_approve)

    @admin.action(description=_("Reject"))
    def reject_versions(self, request, queryset):
        self._decide(request, queryset, scorecard_reject)

    def _decide(self, request, queryset, service) -> None:
        for version in queryset:
            try:
                service(version_id=version.pk, actor=request.user)
            except DomainError as error:
                self.message_user(request, f"{version}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, str(version), messages.SUCCESS)


@admin.display(description=_("rate grid (changed through the products API)"))
def rate_grid_rows(obj: Product) -> str:
    def bounds(low, high, unit=""):
        return "" if low is None and high is None else f"{'—' if low is None else low}–{'—' if high is None else high}{unit}"

    rows = RateGridRow.objects.filter(product=obj).order_by("rating") if obj.pk else []
    return "; ".join(" ".join(p for p in (row.rating, bounds(row.min_rate, row.max_rate),
                                          bounds(row.min_spread_bp, row.max_spread_bp, " bp"),
                                          f"≤ {row.max_amount}" if row.max_amount is not None else "") if p)
                     for row in rows) or "—"


# Shown, not edited, in the product's admin page: an inline would ask every product form for its rows.
ProductAdmin.readonly_fields = (rate_grid_rows,)


@admin.register(RateOverride)
class RateOverrideAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "step", "loan", "rating", "amount", "annual_rate", "spread_bp", "reason")
    list_filter = ("step", "rating")
    list_select_related = ("actor", "loan")
