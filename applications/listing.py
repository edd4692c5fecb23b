"""Sorting, filters and export of a list of loans (issue 15 part 12), one set for every loan list a post opens.

``LoanListForm`` reads the address (``?status=…&product=…&officer=…&amount_min=…&amount_max=…&created_from=…
&created_to=…&changed_from=…&changed_to=…&sort=…&format=csv|xlsx``); ``apply`` narrows a queryset the caller has
already scoped (``loans_visible_to`` or a queue built on it: the filters only ever take rows away); ``export``
writes what the list shows through ``loancenter.lib.export`` (labels in the reader's language, formula-looking text
neutralised, numbers kept numbers). A filter that cannot be applied is an error on the form, never dropped.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from applications.models import Product, Status
from loancenter import posts as P
from loancenter.lib import export, params
from loancenter.lib.money import q2
from loancenter.models import User

MAX_AMOUNT = 10**12  # SPEC §10: amounts above it are refused

# Sort keys, each with its label and its ORDER BY (the id last: a stable order for pages).
SORTS = {
    "waiting": (_lazy("Waiting longest first"), ("status_changed_at", "id")),
    "recent": (_lazy("Changed most recently first"), ("-status_changed_at", "-id")),
    "newest": (_lazy("Newest application first"), ("-id",)),
    "oldest": (_lazy("Oldest application first"), ("id",)),
    "amount_desc": (_lazy("Largest amount first"), ("-shown_amount", "id")),
    "amount_asc": (_lazy("Smallest amount first"), ("shown_amount", "id")),
    "customer": (_lazy("Customer name"), ("customer__name", "id")),
}


class LoanListForm(forms.Form):
    status = forms.MultipleChoiceField(label=_lazy("Status"), required=False, choices=Status.choices)
    product = params.IdMultipleChoiceField(label=_lazy("Product"), required=False, queryset=Product.objects.none())
    officer = params.IdMultipleChoiceField(label=_lazy("Marketing officer"), required=False,
                                           queryset=User.objects.none())
    amount_min = forms.DecimalField(label=_lazy("Amount from"), required=False, min_value=0, max_value=MAX_AMOUNT,
                                    decimal_places=2, max_digits=15)
    amount_max = forms.DecimalField(label=_lazy("Amount to"), required=False, min_value=0, max_value=MAX_AMOUNT,
                                    decimal_places=2, max_digits=15)
    created_from = params.ReportDateField(label=_lazy("Applied from"), required=False)
    created_to = params.ReportDateField(label=_lazy("Applied to"), required=False)
    changed_from = params.ReportDateField(label=_lazy("Status changed from"), required=False)
    changed_to = params.ReportDateField(label=_lazy("Status changed to"), required=False)
    sort = forms.ChoiceField(label=_lazy("Sort"), required=False,
                             choices=[(key, label) for key, (label, _order) in SORTS.items()])

    def __init__(self, *args, user=None, default_sort: str | None = "waiting", **kwargs):
        super().__init__(*args, **kwargs)
        self.default_sort = default_sort
        self.fields["product"].queryset = Product.objects.order_by("code")
        officers = User.objects.filter(groups__name=P.MARKETING).order_by("username")
        if user is not None and not user.in_center:
            officers = officers.filter(unit_id=user.unit_id)
        self.fields["officer"].queryset = officers
        self.fields["officer"].label_from_instance = lambda u: u.display
        self.fields["sort"].initial = default_sort

    def clean(self):
        data = super().clean()
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", _("The upper bound is below the lower bound."))
        for start, end in (("created_from", "created_to"), ("changed_from", "changed_to")):
            if data.get(start) and data.get(end) and data[start] > data[end]:
                self.add_error(end, _("The end date is before the start date."))
        return data

    @property
    def active(self) -> bool:
        """Whether any filter (not the sort) narrows the list."""
        return self.is_bound and self.is_valid() and any(
            value not in (None, "", []) for name, value in self.cleaned_data.items() if name != "sort")

    def apply(self, rows: QuerySet, *, path: str = "") -> QuerySet:
        """``rows`` (already within the reader's scope) narrowed by the filters and sorted (by the default sort when the
        form is unbound; left in their own order when there is no default and none was chosen). ``path``: the way from
        a row to its loan (``"loan__"`` for a list of collection cases), ``""`` for loans."""
        data = self.cleaned_data if self.is_bound else {}
        q = Q()
        if data.get("status"):
            q &= Q(**{f"{path}status__in": data["status"]})
        if data.get("product"):
            q &= Q(**{f"{path}product__in": data["product"]})
        if data.get("officer"):
            q &= Q(**{f"{path}marketing_officer__in": data["officer"]})
        if data.get("amount_min") is not None:
            q &= Q(shown_amount__gte=data["amount_min"])
        if data.get("amount_max") is not None:
            q &= Q(shown_amount__lte=data["amount_max"])
        for name, field, bound in (("created_from", "created_at", "gte"), ("created_to", "created_at", "lt"),
                                   ("changed_from", "status_changed_at", "gte"),
                                   ("changed_to", "status_changed_at", "lt")):
            day = data.get(name)
            if day:
                if bound == "lt":  # the end date is included: before the next day's start
                    day = day + timedelta(days=1)
                q &= Q(**{f"{path}{field}__{bound}": timezone.make_aware(datetime.combine(day, time.min))})
        # The amount a list shows (Loan.effective_amount): approved, else proposed, else applied for.
        shown = Coalesce(f"{path}approved_amount", f"{path}proposed_amount", f"{path}amount")
        rows = rows.alias(shown_amount=shown).filter(q)
        sort = data.get("sort") or self.default_sort
        if not sort:
            return rows
        return rows.order_by(*(_on_path(key, path) for key in SORTS[sort][1]))

    def errors_text(self) -> str:
        return "; ".join(f"{self.fields[name].label if name in self.fields else name}: {' '.join(errors)}"
                         for name, errors in self.errors.items())


def _on_path(key: str, path: str) -> str:
    if key.lstrip("-") == "shown_amount":
        return key
    return f"-{path}{key[1:]}" if key.startswith("-") else f"{path}{key}"


def export_rows(rows: QuerySet, *, path: str = ""):
    """The list as rows: a header of labels, then one loan a row with labels for its codes, read in chunks (``path``:
    the way from a row to its loan, as for ``LoanListForm.apply``)."""
    status = export.labels(Status.choices)
    header = [str(h) for h in (_("Application no."), _("Customer"), _("Product"), _("Marketing officer"), _("Status"),
                               _("Amount"), _("Term (months)"), _("Outstanding principal"), _("Applied at"),
                               _("Status changed at"))]

    def lines():
        yield header
        related = [f"{path}{name}" for name in ("customer", "product", "marketing_officer")]
        for row in rows.select_related(*related).iterator(chunk_size=2000):
            loan = row
            for step in path.split("__")[:-1]:
                loan = getattr(loan, step)
            yield [loan.application_no or f"#{loan.pk}", loan.customer.name, loan.product.name,
                   loan.marketing_officer.display, status.get(loan.status, loan.status), q2(loan.effective_amount),
                   loan.effective_term, q2(loan.outstanding_principal), loan.created_at, loan.status_changed_at]

    return lines()


def export_response(fmt: str, name: str, rows: QuerySet, *, path: str = ""):
    """The CSV or Excel download of the loans of ``rows`` (``fmt``: ``csv`` or ``xlsx``)."""
    if fmt == "xlsx":
        return export.xlsx_response(f"{name}.xlsx", str(_("Loans")), export_rows(rows, path=path))
    return export.csv_response(f"{name}.csv", export_rows(rows, path=path))


def customer_export_response(fmt: str, customers: QuerySet):
    """The customer list (already scoped and searched) as CSV or Excel: ID and phone numbers masked, as the list
    shows them."""
    header = [str(h) for h in (_("Name"), _("ID number"), _("Phone"), _("Age"), _("Employer"), _("Officer"),
                               _("On the warning list"))]

    def lines():
        yield header
        for c in customers.select_related("officer").iterator(chunk_size=2000):
            yield [c.name, c.masked_id_number, c.masked_phone, c.age, c.employer, c.officer.display, c.on_warning_list]

    if fmt == "xlsx":
        return export.xlsx_response("customers.xlsx", str(_("Customers")), lines())
    return export.csv_response("customers.csv", lines())
