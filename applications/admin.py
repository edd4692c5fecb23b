"""Admin for customers, products and loans.

Customers and loans are read-only here: a customer's details change through ``customer_update`` (audited),
and a loan changes only through its transition services, so its FSM ``status`` can never be edited here.
Products are maintained by the general post and the manager through ``product_save``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from applications.catalog import DOCUMENTS, PURPOSES, REPAYMENT_METHOD_LABELS
from applications.models import Collateral, Customer, Guarantor, Investigation, Loan, LoanDocument, Product
from applications.services import PRODUCT_FIELDS, check_product, product_save
from loancenter.admin_site import ReadOnlyAdmin, ReadOnlyInline, ServiceBackedAdmin, holds_admin_post
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
              "occupation", "monthly_income", "monthly_debt_payment", "civil_capacity", "on_warning_list",
              "officer", "created_at")
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
