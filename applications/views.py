"""Browser pages for customers, products and loans, and the one generic transition page.

Views are thin: ``access_*`` for scope (404 outside it), a service call, render. A ``DomainError`` is
shown to the user with its own message; a post that may not open a page gets the 403 page.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from applications import listing, services
from applications.calculator import estimate
from applications.catalog import REPAYMENT_METHOD_LABELS
from applications.forms import (
    ApplicationForms,
    CalculatorForm,
    CustomerEditForm,
    CustomerForm,
    ProductForm,
    WarningListForm,
    product_facts,
)
from applications.models import Product, Status
from applications.selectors import (
    access_customer,
    access_loan,
    can_see_full_pii,
    customers_visible_to,
    freezing_loan,
    loans_visible_to,
    with_age,
)
from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.lib.errors import DomainError, InvalidState
from loancenter.lib.money import MAX_AMOUNT
from loancenter.lib.versioning import StaleEdit
from loancenter.models import PiiView
from loancenter.refusals import record_refusal
from loancenter.rules import require_post

PAGE_SIZE = 50


# ---------------------------------------------------------------------------------------------------------------
# Customers


def customer_list(request):
    query = request.GET.get("q", "").strip()
    customers = customers_visible_to(request.user).select_related("officer").order_by("-id")
    if query:
        customers = customers.filter(name__icontains=query)
    fmt = request.GET.get("format", "")
    if fmt in EXPORT_FORMATS:  # the list as searched, numbers masked (the full ones are read on the customer's page)
        return listing.customer_export_response(fmt, customers)
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "applications/customer_list.html", {"page": page, "q": query})


def customer_create(request):
    require_post(request.user, P.MARKETING)
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_create(actor=request.user, data=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("Customer %(name)s registered.") % {"name": customer.name})
            return redirect("customer-detail", customer.pk)
    return render(request, "applications/customer_form.html", {"form": form}, status=400 if form.errors else 200)


def customer_edit(request, pk: int):
    """The registering officer edits a customer's details through ``customer_update``; a verified fact of a customer
    with a loan in progress is refused there (rule 23) and shown on its field; the form carries the version it
    showed (rule 22)."""
    require_post(request.user, P.MARKETING)
    customer = access_customer(request.user, pk)
    form = CustomerEditForm(request.POST or None, instance=customer)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.fields if name != "version"}
        try:
            services.customer_update(actor=request.user, customer_id=customer.pk, data=data,
                                     version=form.cleaned_data["version"])
        except ValidationError as error:
            form.add_error(None, error)
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
            status = error.status
        else:
            messages.success(request, _("Customer %(name)s saved.") % {"name": data["name"]})
            return redirect("customer-detail", customer.pk)
    if request.method == "GET":
        PiiView.objects.create(viewer=request.user, customer=customer, surface="browser")
    frozen_by = freezing_loan(customer)
    return render(request, "applications/customer_form.html", {"form": form, "customer": customer,
                                                                "frozen_by": frozen_by},
                  status=status if status != 200 else (400 if form.errors else 200))


def customer_detail(request, pk: int):
    customer = access_customer(request.user, pk)
    full_pii = can_see_full_pii(request.user)
    if full_pii:
        PiiView.objects.create(viewer=request.user, customer=customer, surface="browser")
    loans = with_age(list(
        loans_visible_to(request.user).filter(customer=customer).select_related("customer", "product", "marketing_officer")
        .order_by("status_changed_at")
    ))
    guarantees = (
        loans_visible_to(request.user).filter(guarantors__customer=customer)
        .select_related("customer", "product").order_by("-id")
    )
    can_flag = request.user.has_any_post(P.REVIEWER, P.MANAGER)
    can_edit = request.user.has_post(P.MARKETING) and customer.officer_id == request.user.pk
    # The posts that query the credit bureau (postloan.bureau.QUERY_POSTS; that page checks them again).
    can_query = request.user.has_any_post(P.MARKETING, P.INVESTIGATOR, P.REVIEWER, P.GENERAL)
    return render(request, "applications/customer_detail.html", {
        "customer": customer, "full_pii": full_pii, "loans": loans, "guarantees": guarantees,
        "can_flag": can_flag, "can_edit": can_edit, "can_query": can_query,
    })


def customer_warning(request, pk: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    customer = access_customer(request.user, pk)
    form = WarningListForm(request.POST)
    if form.is_valid():
        try:
            services.customer_set_warning(actor=request.user, customer=customer,
                                          on_warning_list=form.cleaned_data["on_warning_list"],
                                          reason=form.cleaned_data["reason"], version=form.cleaned_data["version"])
        except StaleEdit as error:
            messages.error(request, error.message)
            return redirect("customer-detail", customer.pk)
        except DomainError as error:
            raise PermissionDenied(error.message) from None
        if form.cleaned_data["on_warning_list"]:
            messages.warning(request, _("%(name)s is now on the credit warning list.") % {"name": customer.name})
        else:
            messages.success(request, _("%(name)s is off the credit warning list.") % {"name": customer.name})
    return redirect("customer-detail", customer.pk)


# ---------------------------------------------------------------------------------------------------------------
# Products


def product_list(request):
    products = Product.objects.order_by("-active", "code")
    can_edit = request.user.has_any_post(P.GENERAL, P.MANAGER)
    return render(request, "applications/product_list.html", {
        "products": products, "can_edit": can_edit, "method_labels": REPAYMENT_METHOD_LABELS,
    })


def product_form(request, pk: int | None = None):
    require_post(request.user, P.GENERAL, P.MANAGER)
    product = get_object_or_404(Product, pk=pk) if pk else None
    form = ProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in services.PRODUCT_FIELDS if name in form.cleaned_data}
        try:
            saved = services.product_save(actor=request.user, data=data, product_id=pk,
                                          version=form.cleaned_data["version"] if pk else None)
        except ValidationError as error:
            form.add_error(None, error)
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("Product %(name)s saved.") % {"name": saved.name})
            return redirect("product-list")
    return render(request, "applications/product_form.html", {"form": form, "product": product},
                  status=400 if form.errors else 200)


# ---------------------------------------------------------------------------------------------------------------
# Loans


def loan_list(request):
    """``/loans/``: the loans in the reader's scope, with sorting, filters (``applications.listing``) and the search box;
    ``?format=csv|xlsx`` downloads the list as filtered, unpaginated."""
    form = listing.LoanListForm(request.GET or None, user=request.user)
    loans = loans_visible_to(request.user)
    query = request.GET.get("q", "").strip()
    if query:
        loans = loans.filter(Q(customer__name__icontains=query) | Q(application_no__icontains=query))
    fmt = request.GET.get("format", "")
    if form.is_bound and not form.is_valid():
        # A filter that cannot be applied is never dropped silently (the list would show more than was asked for).
        if fmt in EXPORT_FORMATS:
            return HttpResponse(form.errors_text(), status=400, content_type="text/plain; charset=utf-8")
        return render(request, "applications/loan_list.html", {"form": form, "page": None, "q": query}, status=400)
    loans = form.apply(loans)
    if fmt in EXPORT_FORMATS:
        return listing.export_response(fmt, "loans", loans)
    page = Paginator(loans.select_related("customer", "product", "marketing_officer"), PAGE_SIZE).get_page(
        request.GET.get("page"))
    with_age(page.object_list)
    kept = request.GET.copy()
    for name in ("page", "format"):
        kept.pop(name, None)
    return render(request, "applications/loan_list.html", {
        "page": page, "q": query, "form": form, "kept": kept.urlencode(),
    })


EXPORT_FORMATS = ("csv", "xlsx")


_EDITABLE = ("amount", "term_months", "repayment_method", "purpose", "purpose_detail", "long_term_reason",
             "interviewed_on", "credit_authorised")


def _application_page(request, *, loan=None):
    require_post(request.user, P.MARKETING)
    customers = customers_visible_to(request.user).order_by("name")
    if loan is None:
        forms = ApplicationForms(request.POST or None, customers=customers,
                                 initial={"customer": request.GET.get("customer"), "interviewed_on": today()})
    else:
        # Every row the draft has, each with its id (and a collateral's version), so that posting the form back
        # keeps what the person left alone and changes only what they changed (rule 22).
        forms = ApplicationForms(
            request.POST or None, customers=customers,
            initial={**{k: getattr(loan, k) for k in _EDITABLE}, "customer": loan.customer_id,
                     "product": loan.product_id, "documents": [d.code for d in loan.documents.all()],
                     "version": loan.version},
            guarantors=[{"id": g.pk, "customer": g.customer_id, "relationship": g.relationship}
                        for g in loan.guarantors.order_by("pk")],
            collaterals=list(loan.collaterals.order_by("pk").values(
                "id", "version", "kind", "description", "owner_name", "certificate_no", "appraised_value",
                "appraised_on", "disposer_consent")),
        )
    if request.method == "POST" and forms.is_valid():
        try:
            if loan is None:
                saved = services.loan_create(actor=request.user, data=forms.to_input())
            else:
                saved = services.loan_update_draft(actor=request.user, loan_id=loan.pk, data=forms.to_input(),
                                                   version=forms.version)
        except DomainError as error:
            forms.add_domain_error(error)
        except ValidationError as error:
            forms.add_validation_error(error)
        else:
            messages.success(request, _("Application %(no)s saved as a draft.") % {"no": saved})
            return redirect("loan-detail", saved.pk)
    products = list(Product.objects.filter(active=True).order_by("code"))
    return render(request, "applications/loan_form.html", {
        "forms": forms, "loan": loan, "product_facts": product_facts(products),
        "chosen": _chosen_facts(forms, products), "estimate": _form_estimate(request.user, forms),
        "customer_form": CustomerForm(initial={"monthly_debt_payment": "0.00"}),
    }, status=400 if request.method == "POST" else 200)


def _chosen_facts(forms, products) -> dict | None:
    product = forms.main._chosen_product()
    return product_facts([product])[str(product.pk)] if product is not None else None


def _form_estimate(user, forms) -> dict | None:
    """The calculator as the page is drawn (after an error, or a draft opened for editing): the same figures the
    JSON endpoint gives while the officer types, so the page says it without JavaScript too."""
    main = forms.main
    raw = main.data if main.is_bound else {k: v for k, v in main.initial.items() if v is not None}
    query = {name: raw.get(main.add_prefix(name) if main.is_bound else name) for name in CalculatorForm.base_fields}
    query = {k: getattr(v, "pk", v) for k, v in query.items() if v not in (None, "")}
    if not main.is_bound:
        query["customer"] = main.initial.get("customer") or None
    parsed = CalculatorForm({k: v for k, v in query.items() if v is not None})
    if not parsed.is_valid():
        return None
    customer = _calculator_customer(user, parsed.cleaned_data.get("customer"))
    values = [f.initial.get("appraised_value") if not f.is_bound else f.data.get(f.add_prefix("appraised_value"))
              for f in forms.collaterals.forms]
    return estimate(product=parsed.cleaned_data["product"], amount=parsed.cleaned_data["amount"],
                    term_months=parsed.cleaned_data["term_months"], method=parsed.cleaned_data["repayment_method"],
                    customer=customer, appraised_values=_decimals(values),
                    long_term_reason=parsed.cleaned_data["long_term_reason"])


def _decimals(values) -> list[Decimal]:
    found = []
    for value in values:
        try:
            number = Decimal(str(value))
        except (InvalidOperation, TypeError, ValueError):
            continue
        if number.is_finite() and 0 < number <= MAX_AMOUNT:
            found.append(number)
    return found


def _calculator_customer(user, pk):
    if not pk:
        return None
    return customers_visible_to(user).filter(pk=pk).first()


def _json_error(status: int, code: str, detail: str, **extra) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail, **extra}, status=status)


def _marketing_only(user) -> JsonResponse | None:
    if not user.has_post(P.MARKETING):
        return _json_error(403, "post_required", _("This action needs the post: %(posts)s.")
                           % {"posts": P.POST_LABELS[P.MARKETING]})
    return None


@require_GET
def loan_calculator(request):
    """The application form's calculator (issue 15, part 6): installment, DTI and LTV for what the officer typed,
    computed by the rules the checks use (``applications.calculator``). GET, read-only: nothing is written.

    403 for a post other than marketing; 400 ``bad_input`` with the fields; 404 for a customer outside the scope."""
    refused = _marketing_only(request.user)
    if refused is not None:
        return refused
    parsed = CalculatorForm(request.GET)
    if not parsed.is_valid():
        return _json_error(400, "bad_input", _("Please correct the fields marked below."),
                           fields={k: [str(m) for m in v] for k, v in parsed.errors.items()})
    customer = None
    if parsed.cleaned_data.get("customer"):
        customer = _calculator_customer(request.user, parsed.cleaned_data["customer"])
        if customer is None:
            return _json_error(404, "not_found", _("No such customer."))
    values = _decimals(request.GET.getlist("appraised_value"))
    if len(values) != len([v for v in request.GET.getlist("appraised_value") if v.strip()]):
        return _json_error(400, "bad_input", _("Please correct the fields marked below."),
                           fields={"appraised_value": [_("Enter a positive amount.")]})
    data = parsed.cleaned_data
    return JsonResponse(estimate(product=data["product"], amount=data["amount"], term_months=data["term_months"],
                                 method=data["repayment_method"], customer=customer, appraised_values=values,
                                 long_term_reason=data["long_term_reason"]))


SEARCH_LIMIT = 20


@require_GET
def customer_search(request):
    """The customer pickers of the application form: by name, or the last digits of the ID or phone number, within
    the reader's scope (``customers_visible_to``). Answers masked numbers only: the picker needs no more."""
    refused = _marketing_only(request.user)
    if refused is not None:
        return refused
    query = unicodedata.normalize("NFKC", request.GET.get("q", "")).strip()
    if len(query) < 2:
        return _json_error(400, "query_too_short", _("Type at least two characters."))
    if query.isdigit() or (query[:-1].isdigit() and query[-1:] in "xX"):
        match = Q(id_number__endswith=query.upper()) | Q(phone__endswith=query)
    else:
        match = Q(name__icontains=query)
    found = customers_visible_to(request.user).filter(match).order_by("name", "pk")[:SEARCH_LIMIT]
    return JsonResponse({"results": [
        {"id": c.pk, "name": c.name, "id_suffix": c.id_number[-4:], "phone_suffix": c.phone[-4:],
         "label": picker_label(c)} for c in found
    ]})


def picker_label(customer) -> str:
    return _("%(name)s · ID …%(id)s · phone …%(phone)s") % {
        "name": customer.name, "id": customer.id_number[-4:], "phone": customer.phone[-4:]}


@require_POST
def customer_create_inline(request):
    """Register a guarantor without leaving the application form (issue 15, part 6): the same form and service as
    the customer page (``customer_create``); 201 with the new customer, 400 with the fields otherwise."""
    refused = _marketing_only(request.user)
    if refused is not None:
        return refused
    form = CustomerForm(request.POST)
    if form.is_valid():
        try:
            customer = services.customer_create(actor=request.user, data=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return JsonResponse({"id": customer.pk, "name": customer.name, "label": picker_label(customer)}, status=201)
    return _json_error(400, "invalid", _("Please correct the fields marked below."),
                       fields={k: [str(m) for m in v] for k, v in form.errors.items()})


def loan_create(request):
    return _application_page(request)


def loan_edit(request, pk: int):
    loan = access_loan(request.user, pk)
    if loan.status != Status.DRAFT:
        error = InvalidState(_("Only a draft application can be edited."))
        if request.method == "POST":  # a form opened while it was a draft, posted after submit: a refusal (SPEC §10)
            record_refusal(actor=request.user, action=services.loan_update_draft.action, loan_id=loan.pk, error=error)
        messages.error(request, error.message)
        return redirect("loan-detail", loan.pk)
    return _application_page(request, loan=loan)


