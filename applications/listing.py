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
from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from applications.models import Product, Status
from applications.selectors import in_scope  # noqa: F401 (the lists call it as listing.in_scope)
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

    def __init__(self, *args, user=None, default_sort: str | None = "waiting", own_order=None, **kwargs):
        """``default_sort``: the sort when none is chosen; ``None`` keeps the list's own order, offered first as
        ``own_order`` (its label, e.g. "Due date first" for a queue of checks)."""
        super().__init__(*args, **kwargs)
        if self.is_bound and hasattr(self.data, "getlist"):
            # A select left at "all" sends an empty value (a browser submits every select): no filter, not an error.
            self.data = self.data.copy()
            for name in ("status", "product", "officer"):
                key = self.add_prefix(name)
                if key in self.data:
                    self.data.setlist(key, [v for v in self.data.getlist(key) if v != ""])
        self.user = user
        self.default_sort = default_sort
        self.fields["product"].queryset = Product.objects.order_by("code")
        self.fields["officer"].queryset = _officers(user)
        self.fields["officer"].label_from_instance = lambda u: u.display
        self.fields["sort"].initial = default_sort
        if default_sort is None:
            self.fields["sort"].choices = [("", own_order or _lazy("The list's own order")),
                                           *self.fields["sort"].choices]

    @property
    def options(self) -> dict:
        """The product and officer options the form offers, as (id, label) (see ``filter_options``)."""
        return filter_options(self.user)

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
        return "; ".join(f"{self.fields[name].label}: {' '.join(errors)}" if name in self.fields else " ".join(errors)
                         for name, errors in self.errors.items())


def _officers(user) -> QuerySet:
    officers = User.objects.filter(groups__name=P.MARKETING).order_by("username")
    if user is not None and not user.in_center:
        officers = officers.filter(unit_id=user.unit_id)
    return officers


# The options of the product and officer selects, kept in the cache so that a list drawn as often as the home page
# reads no table for its filter form (its query-count pins). A saved product or user, or a change of posts, reads them
# again at once in that process (``refresh_options``, connected in ``ApplicationsConfig.ready``): the next page
# finds them ready. Other processes (the cache is per process) read them again within ``OPTIONS_SECONDS``. Only the
# options shown come from here: a submitted choice is checked against the tables (the form's querysets).
OPTIONS_SECONDS = 300
_OPTIONS_KEY = "listing-filter-options"


def _read_options() -> dict:
    return {"products": [(p.pk, p.name) for p in Product.objects.order_by("code").only("id", "name", "code")],
            "officers": [(u.pk, u.display, u.unit_id) for u in _officers(None)]}


def filter_options(user) -> dict:
    found = cache.get(_OPTIONS_KEY)
    if found is None:
        found = _read_options()
        cache.set(_OPTIONS_KEY, found, OPTIONS_SECONDS)
    officers = found["officers"]
    if user is not None and not user.in_center:
        officers = [o for o in officers if o[2] == user.unit_id]
    return {"products": found["products"], "officers": [(pk, name) for pk, name, _unit in officers]}


def refresh_options(update_fields=None, raw=False, **_kwargs) -> None:
    if raw or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return  # a fixture being loaded; a login changes neither a name nor a post
    cache.set(_OPTIONS_KEY, _read_options(), OPTIONS_SECONDS)


def bad_filter_response(form, fmt: str, render_page):
    """A filter that cannot be applied: 400, the fields named, no rows (a download says it in plain text)."""
    if fmt in EXPORT_FORMATS:
        return HttpResponse(form.errors_text(), status=400, content_type="text/plain; charset=utf-8")
    response = render_page()
    response.status_code = 400
    return response


EXPORT_FORMATS = ("csv", "xlsx")


def kept_query(request) -> str:
    """The address's query without the page and the format: the links of the pager and of the exports."""
    kept = request.GET.copy()
    for name in ("page", "format"):
        kept.pop(name, None)
    return kept.urlencode()


def _on_path(key: str, path: str) -> str:
    if key.lstrip("-") == "shown_amount":
        return key
    return f"-{path}{key[1:]}" if key.startswith("-") else f"{path}{key}"


def _loan_header() -> list[str]:
    return [str(h) for h in (_("Application no."), _("Customer"), _("Product"), _("Marketing officer"), _("Status"),
                             _("Amount"), _("Term (months)"), _("Outstanding principal"), _("Applied at"),
                             _("Status changed at"))]


def _loan_cells(loan, status: dict) -> list:
    return [loan.application_no or f"#{loan.pk}", loan.customer.name, loan.product.name,
            loan.marketing_officer.display, status.get(loan.status, loan.status), q2(loan.effective_amount),
            loan.effective_term, q2(loan.outstanding_principal), loan.created_at, loan.status_changed_at]


def _loan_of(row, path: str):
    loan = row
    for step in path.split("__")[:-1]:
        loan = getattr(loan, step)
    return loan


def _related(path: str) -> list[str]:
    return [f"{path}{name}" for name in ("customer", "product", "marketing_officer")]


def export_rows(rows: QuerySet, *, path: str = ""):
    """The list as rows: a header of labels, then one loan a row with labels for its codes, read in chunks (``path``:
    the way from a row to its loan, as for ``LoanListForm.apply``)."""
    status = export.labels(Status.choices)

    def lines():
        yield _loan_header()
        for row in rows.select_related(*_related(path)).iterator(chunk_size=2000):
            yield _loan_cells(_loan_of(row, path), status)

    return lines()


def export_response(fmt: str, name: str, rows: QuerySet, *, path: str = ""):
    """The CSV or Excel download of the loans of ``rows`` (``fmt``: ``csv`` or ``xlsx``)."""
    if fmt == "xlsx":
        return export.xlsx_response(f"{name}.xlsx", str(_("Loans")), export_rows(rows, path=path))
    return export.csv_response(f"{name}.csv", export_rows(rows, path=path))


class Section:
    """One list of a page that lists several (a queue's checks, its signals…): its label, its rows (each of one loan,
    reached by ``path``), and ``describe(row)`` → (what the row is, its date) for the export's first columns."""

    def __init__(self, label, rows, describe, *, path: str = "loan__"):
        self.label, self.rows, self.describe, self.path = label, rows, describe, path


def sections_response(fmt: str, name: str, sections: list[Section]):
    """The CSV or Excel download of a page of several lists: a row per item, saying which list, what and when, then
    its loan's columns (as ``export_rows``), each list in the page's order."""
    status = export.labels(Status.choices)

    def lines():
        yield [str(_("List")), str(_("Item")), str(_("Date")), *_loan_header()]
        for section in sections:
            label = str(section.label)
            rows = section.rows
            if isinstance(rows, QuerySet):
                rows = rows.select_related(*_related(section.path)).iterator(chunk_size=2000)
            for row in rows:
                what, when = section.describe(row)
                yield [label, str(what), when, *_loan_cells(_loan_of(row, section.path), status)]

    if fmt == "xlsx":
        return export.xlsx_response(f"{name}.xlsx", str(_("Loans")), lines())
    return export.csv_response(f"{name}.csv", lines())


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
