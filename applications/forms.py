"""Browser forms for customers, products and applications.

The forms only parse and shape input; every business rule is checked by the service they hand it to
(``applications.services``), and its refusal is shown on the field it names.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _

from applications.catalog import DOCUMENTS, PURPOSES, RELATIONSHIPS, REPAYMENT_METHOD_LABELS
from applications.models import Collateral, Customer, Product
from applications.rules import purposes_allowed
from applications.services import CUSTOMER_FIELDS, PRODUCT_FIELDS, ApplicationInput
from loancenter.lib.errors import DomainError
from loancenter.lib.money import MAX_AMOUNT
from loancenter.lib.percent import PercentField

CREDIT_AUTHORISATION_DOC = "credit_authorization"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def version_field() -> forms.IntegerField:
    """The version of the record the form showed (rule 22), posted back so the service can refuse a stale save.

    Not required: a post without it is applied as before, like an API client that sends no version; the forms we
    render always carry it."""
    return forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class CustomerForm(forms.ModelForm):
    version = version_field()

    class Meta:
        model = Customer
        fields = list(CUSTOMER_FIELDS)
        widgets = {"monthly_income": forms.NumberInput(attrs={"step": "0.01"}),
                   "monthly_debt_payment": forms.NumberInput(attrs={"step": "0.01"}),
                   "region": forms.TextInput(attrs={"inputmode": "numeric", "maxlength": 6})}
        help_texts = {"region": _("Six-digit GB/T 2260 code of the province, city or county, e.g. 110101.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            if "id_number" in self.fields:
                # The ID number is the person: it is not edited (the service refuses it too).
                self.fields["id_number"].disabled = True
            self.fields["version"].initial = self.instance.version


class CustomerEditForm(CustomerForm):
    """A registered customer's details; the ID number is shown on the customer's page, never edited."""

    class Meta(CustomerForm.Meta):
        fields = [name for name in CUSTOMER_FIELDS if name != "id_number"]


class WarningListForm(forms.Form):
    on_warning_list = forms.BooleanField(label=_("On the credit warning list"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
    version = version_field()


def _multi(choices: dict, label) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(label=label, choices=list(choices.items()), required=False,
                                     widget=forms.CheckboxSelectMultiple)


def product_percent_field(name: str, *, required: bool = True, max_percent=100) -> PercentField:
    """The model's rate or ratio ``name`` as a percent box (issue 15 part 5): labelled "… (%)", limits in percent."""
    field = Product._meta.get_field(name)
    return PercentField(label=format_lazy("{} (%)", capfirst(field.verbose_name)), places=field.decimal_places,
                        max_percent=max_percent, required=required)


class ProductForm(forms.ModelForm):
    # Rates and ratios typed as percentages (4.35 for 0.0435); the product keeps the fraction.
    min_rate = product_percent_field("min_rate")
    max_rate = product_percent_field("max_rate")
    max_ltv = product_percent_field("max_ltv", required=False)
    max_dti = product_percent_field("max_dti")
    investigation_rate = product_percent_field("investigation_rate")
    penalty_markup = product_percent_field("penalty_markup", max_percent=None)
    repayment_methods = forms.MultipleChoiceField(
        label=_("Repayment methods"), choices=list(REPAYMENT_METHOD_LABELS.items()), widget=forms.CheckboxSelectMultiple
    )
    required_documents = _multi(DOCUMENTS, _("Required documents"))
    allowed_purposes = _multi(PURPOSES, _("Allowed purposes"))
    version = version_field()

    class Meta:
        model = Product
        fields = list(PRODUCT_FIELDS)
        widgets = {name: forms.NumberInput(attrs={"step": "any"}) for name in ("min_amount", "max_amount")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
        self.fields["rate_type"].required = False  # SPEC §16.4: a new field is optional (unsent: fixed)

    def clean_rate_type(self) -> str:
        return self.cleaned_data.get("rate_type") or "fixed"


class ApplicationForm(forms.Form):
    customer = forms.ModelChoiceField(label=_("Borrower"), queryset=Customer.objects.none())
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.filter(active=True))
    amount = forms.DecimalField(label=_("Amount (CNY)"), max_digits=14, decimal_places=2,
                                widget=forms.NumberInput(attrs={"step": "0.01"}))
    term_months = forms.IntegerField(label=_("Term (months)"), min_value=1, max_value=360)
    repayment_method = forms.ChoiceField(label=_("Repayment method"), choices=list(REPAYMENT_METHOD_LABELS.items()))
    purpose = forms.ChoiceField(label=_("Purpose"), choices=[("", "---------"), *PURPOSES.items()])
    purpose_detail = forms.CharField(label=_("Purpose details"), max_length=200, required=False)
    long_term_reason = forms.CharField(label=_("Reason for a business term over 60 months"), max_length=200,
                                       required=False)
    interviewed_on = forms.DateField(label=_("Face-to-face interview on"), required=False, widget=DateInput())
    credit_authorised = forms.BooleanField(label=_("Written credit-report authorisation received"), required=False)
    documents = _multi(DOCUMENTS, _("Documents received"))
    version = version_field()

    def __init__(self, *args, customers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers
        self.fields["customer"].widget.attrs["data-customer-picker"] = "borrower"
        self.fields["product"].widget.attrs["data-product-select"] = ""
        # The credit authorisation is asked once, here (rule 12a); the paper column does not ask it again.
        self.fields["documents"].choices = [(k, v) for k, v in DOCUMENTS.items() if k != CREDIT_AUTHORISATION_DOC]
        # Every purpose is parsed (a prohibited one is refused by the product rule, by name, in the service); only the
        # purposes the chosen product's rule accepts are offered (all products' when none is chosen yet).
        product = self._chosen_product()
        offered = purposes_allowed(product) if product is not None else offered_purposes()
        current = self.data.get(self.add_prefix("purpose")) if self.is_bound else self.initial.get("purpose")
        if current and current in PURPOSES and current not in offered:
            offered = [*offered, current]  # a draft stating it keeps it shown, so the rule's refusal names it
        self.fields["purpose"].widget.choices = [("", "---------"), *((code, PURPOSES[code]) for code in offered)]

    def _chosen_product(self):
        value = self.data.get(self.add_prefix("product")) if self.is_bound else self.initial.get("product")
        try:
            return Product.objects.filter(active=True).get(pk=getattr(value, "pk", value)) if value else None
        except (Product.DoesNotExist, ValueError, TypeError):
            return None


def offered_purposes() -> list[str]:
    """Before a product is chosen: the purposes some active product's rule accepts, in the catalogue's order."""
    allowed: set[str] = set()
    for product in Product.objects.filter(active=True):
        allowed.update(purposes_allowed(product))
    return [code for code in PURPOSES if code in allowed]


def product_facts(products) -> dict[str, dict]:
    """What the application form shows as soon as a product is chosen (issue 15, part 6): its required documents and
    the purposes its rule accepts, with its limits; keyed by the product's id as the select posts it."""
    return {
        str(p.pk): {
            "code": p.code, "name": p.name, "secured": p.secured,
            "documents": [{"code": code, "label": str(DOCUMENTS.get(code, code))} for code in p.required_documents],
            "purposes": [{"code": code, "label": str(PURPOSES[code])} for code in purposes_allowed(p)],
            "methods": list(p.repayment_methods or []),
            "min_amount": f"{p.min_amount:.2f}", "max_amount": f"{p.max_amount:.2f}",
            "min_term_months": p.min_term_months, "max_term_months": p.max_term_months,
        }
        for p in products
    }


class CalculatorForm(forms.Form):
    """The calculator endpoint's query (GET): what the officer has typed so far."""

    product = forms.ModelChoiceField(queryset=Product.objects.filter(active=True))
    customer = forms.IntegerField(required=False, min_value=1)
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"), max_value=MAX_AMOUNT)
    term_months = forms.IntegerField(min_value=1, max_value=360)
    repayment_method = forms.ChoiceField(choices=list(REPAYMENT_METHOD_LABELS.items()))
    long_term_reason = forms.CharField(required=False, max_length=200)


class GuarantorForm(forms.Form):
    # The row it shows (empty on a new row): an unchanged row is kept as it is, a changed one updated in place.
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    customer = forms.ModelChoiceField(label=_("Guarantor"), queryset=Customer.objects.none(),
                                      widget=forms.Select(attrs={"data-customer-picker": "guarantor"}))
    relationship = forms.ChoiceField(label=_("Relationship"), choices=[("", "---------"), *RELATIONSHIPS.items()])

    def __init__(self, *args, customers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers


class CollateralForm(forms.ModelForm):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    version = version_field()

    class Meta:
        model = Collateral
        fields = ["kind", "description", "owner_name", "certificate_no", "appraised_value", "appraised_on",
                  "disposer_consent"]
        widgets = {"appraised_on": DateInput(), "appraised_value": forms.NumberInput(attrs={"step": "0.01"})}


GuarantorFormSet = forms.formset_factory(GuarantorForm, extra=1, can_delete=True, max_num=10, validate_max=True)
CollateralFormSet = forms.formset_factory(CollateralForm, extra=1, can_delete=True, max_num=10, validate_max=True)


class ApplicationForms:
    """The application form with its two inline formsets, handled as one unit."""

    def __init__(self, data=None, *, customers, initial=None, guarantors=None, collaterals=None):
        self.main = ApplicationForm(data, customers=customers, initial=initial)
        self.guarantors = GuarantorFormSet(data, prefix="guarantors", initial=guarantors,
                                           form_kwargs={"customers": customers})
        self.collaterals = CollateralFormSet(data, prefix="collaterals", initial=collaterals)

    def is_valid(self) -> bool:
        return all([self.main.is_valid(), self.guarantors.is_valid(), self.collaterals.is_valid()])

    @staticmethod
    def _kept(formset):
        """Every row the form showed (it has an id) unless its delete box is ticked, and every new row filled in.

        A row shown and left as it was is kept (rule 22): only the delete box removes a row."""
        return [f.cleaned_data for f in formset.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE")
                and (f.cleaned_data.get("id") is not None or f.has_changed())]

    @property
    def version(self) -> int | None:
        return self.main.cleaned_data.get("version")

    def to_input(self) -> ApplicationInput:
        data = self.main.cleaned_data
        return ApplicationInput(
            customer=data["customer"], product=data["product"], amount=data["amount"],
            term_months=data["term_months"], repayment_method=data["repayment_method"], purpose=data["purpose"],
            purpose_detail=data["purpose_detail"], long_term_reason=data["long_term_reason"],
            interviewed_on=data["interviewed_on"], credit_authorised=data["credit_authorised"],
            guarantors=[(row["customer"], row["relationship"], row["id"]) for row in self._kept(self.guarantors)],
            collaterals=[{k: v for k, v in row.items() if k != "DELETE"} for row in self._kept(self.collaterals)],
            documents=[*data["documents"], *self._kept_authorisation_paper(data)],
        )

    def _kept_authorisation_paper(self, data) -> list[str]:
        """The form no longer asks for the authorisation's paper (the checkbox asks it once): a draft that has it keeps
        it while the authorisation stays ticked, so posting the form back unchanged changes nothing (rule 22)."""
        shown = self.main.initial.get("documents") or []
        return [CREDIT_AUTHORISATION_DOC] if CREDIT_AUTHORISATION_DOC in shown and data["credit_authorised"] else []

    def add_domain_error(self, error: DomainError) -> None:
        """A refusal names a field where it can; show it there, otherwise above the form."""
        if error.field in self.main.fields:
            self.main.add_error(error.field, error.message)
        elif error.field == "guarantors":
            self.guarantors._non_form_errors = self.guarantors.error_class([error.message])
        else:
            self.main.add_error(None, error.message)

    def add_validation_error(self, error: ValidationError) -> None:
        """Model validation inside the service (e.g. a collateral row): per field where the field is ours."""
        if not hasattr(error, "error_dict"):
            self.main.add_error(None, error)
            return
        for name, messages in error.error_dict.items():
            target = name if name in self.main.fields else None
            for message in messages:
                label = "" if target else f"{name}: "
                self.main.add_error(target, f"{label}{' '.join(message.messages)}")

    @property
    def has_errors(self) -> bool:
        return bool(self.main.errors or self.guarantors.total_error_count() or self.collaterals.total_error_count())
