"""Browser pages for customers, products and loans, and the one generic transition page.

Views are thin: ``access_*`` for scope (404 outside it), a service call, render. A ``DomainError`` is
shown to the user with its own message; a post that may not open a page gets the 403 page.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as InputError

from applications import services
from applications.catalog import DOCUMENTS, PURPOSES, RELATIONSHIPS, REPAYMENT_METHOD_LABELS
from applications.files.selectors import gallery
from applications.forms import ApplicationForms, CustomerEditForm, CustomerForm, ProductForm, WarningListForm
from applications.input_forms import describe, post_data
from applications.models import Investigation, Product, Status
from applications.selectors import (
    BEFORE_DECISION,
    access_customer,
    access_loan,
    can_see_full_pii,
    customer_exposure,
    customers_visible_to,
    freezing_loan,
    loans_visible_to,
    other_installments,
)
from applications.workflow import STEPS, available_transitions, check_actor
from disbursement.selectors import after_approval
from loancenter import posts as P
from loancenter import transitions
from loancenter.lib.dates import today
from loancenter.lib.errors import DomainError, InvalidState
from loancenter.lib.versioning import StaleEdit
from loancenter.models import PiiView, User
from loancenter.refusals import record_refusal
from loancenter.rules import require_post
from loancenter.views import with_age

PAGE_SIZE = 50


# ---------------------------------------------------------------------------------------------------------------
# Customers


def customer_list(request):
    query = request.GET.get("q", "").strip()
    customers = customers_visible_to(request.user).select_related("officer").order_by("-id")
    if query:
        customers = customers.filter(name__icontains=query)
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
    return render(request, "applications/customer_detail.html", {
        "customer": customer, "full_pii": full_pii, "loans": loans, "guarantees": guarantees,
        "can_flag": can_flag, "can_edit": can_edit,
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
    loans = loans_visible_to(request.user).select_related("customer", "product", "marketing_officer")
    status = request.GET.get("status", "")
    if status in Status.values:
        loans = loans.filter(status=status)
    query = request.GET.get("q", "").strip()
    if query:
        loans = loans.filter(customer__name__icontains=query) | loans.filter(application_no__icontains=query)
    page = Paginator(loans.order_by("status_changed_at", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    with_age(page.object_list)
    return render(request, "applications/loan_list.html", {
        "page": page, "status": status, "q": query, "statuses": Status.choices,
    })


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
    return render(request, "applications/loan_form.html", {"forms": forms, "loan": loan},
                  status=400 if request.method == "POST" else 200)


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


def _row_label(row) -> str:
    if isinstance(row, dict):
        return str(row.get("name") or row.get("description") or row.get("id", ""))
    return str(row)


def _edit_summary(payload: dict) -> list[str]:
    """An edit's audit row (rule 22): ``field: old → new`` and the rows added (+), removed (−) or changed (~)."""
    parts = [f"{key}: {payload['old'].get(key)} → {value}" for key, value in payload["new"].items()]
    for kind in ("guarantors", "collaterals", "documents"):
        rows = payload.get(kind) or {}
        for sign, key in (("+", "added"), ("−", "removed")):
            parts += [f"{kind} {sign}{_row_label(row)}" for row in rows.get(key, [])]
        for row in rows.get("changed", []):
            parts += [f"{kind} #{row['id']} {k}: {row['old'].get(k)} → {v}" for k, v in row["new"].items()]
    return parts


def _payload_summary(payload) -> str:
    """``key=value; …`` for the audit timeline (the reason is shown on its own line)."""
    if not isinstance(payload, dict):
        return str(payload)
    if isinstance(payload.get("old"), dict) and isinstance(payload.get("new"), dict):
        return "; ".join(_edit_summary(payload))
    parts = []
    for key, value in payload.items():
        if key == "reason" or value in ("", None, [], {}):
            continue
        if isinstance(value, list):
            value = ", ".join(map(str, value))
        text = str(value)
        parts.append(f"{key}={text[:80] + '…' if len(text) > 80 else text}")
    return "; ".join(parts)


def loan_detail(request, pk: int):
    loan = access_loan(request.user, pk)
    received = {d.code: d for d in loan.documents.all()}
    required = list(loan.product.required_documents)
    documents = [
        {"code": code, "label": DOCUMENTS.get(code, code), "required": code in required, "received": received.get(code)}
        for code in dict.fromkeys([*required, *received])
    ]
    investigations = list(loan.investigations.select_related("assignee", "cosigner").prefetch_related(
        Prefetch("investigators", queryset=User.objects.order_by("username"))))
    actions = [STEPS[name] for name in available_transitions(loan, request.user) if name in transitions.REGISTRY]
    status_labels = dict(Status.choices)
    audit_entries = list(loan.audit_entries.select_related("actor"))
    for entry in audit_entries:
        entry.label = STEPS[entry.action].label if entry.action in STEPS else entry.action
        entry.from_label = status_labels.get(entry.from_status, entry.from_status)
        entry.to_label = status_labels.get(entry.to_status, entry.to_status)
        entry.summary = _payload_summary(entry.payload)
    can_notify = (
        loan.decided_at is not None and loan.customer_notified_on is None
        and (loan.marketing_officer_id == request.user.pk or request.user.has_post(P.MANAGER))
    )
    return render(request, "applications/loan_detail.html", {
        "loan": loan, "documents": documents, "gallery": gallery(loan),  # the files by code (SPEC §11)
        "missing": [d for d in documents if d["required"] and not d["received"]],
        "guarantors": loan.guarantors.select_related("customer"), "collaterals": loan.collaterals.all(),
        "investigations": investigations, "actions": actions, "audit_entries": audit_entries,
        "can_notify": can_notify, "today": today(), "purpose_label": PURPOSES.get(loan.purpose, loan.purpose),
        "method_labels": REPAYMENT_METHOD_LABELS, "relationships": RELATIONSHIPS,
        "can_edit": loan.status == Status.DRAFT and loan.marketing_officer_id == request.user.pk,
        **after_approval(loan, request.user),  # contracts, receipt, disbursement, schedule, repayments
    })


# ---------------------------------------------------------------------------------------------------------------
# The generic transition page: one form per entry of loancenter.transitions.REGISTRY


_REPORT_FIELDS = ("field_visit_on", "identity_verified", "income_verified", "purpose_verified", "guarantors_verified",
                  "collateral_verified", "opinion", "recommended_amount", "recommended_term_months", "comment")


def _initial_for(name: str, loan, user) -> dict:
    """Sensible defaults: the figures the previous step arrived at, the caller as investigator, today's dates."""
    if name == "complete_investigation":
        returned = loan.current_investigation
        if returned is not None and returned.returned_at is not None:  # rule 26: the report to correct, as filed
            return {"investigators": [user.username, *([returned.cosigner.username] if returned.cosigner else [])],
                    **{field: getattr(returned, field) for field in _REPORT_FIELDS}}
        return {"investigators": [user.username], "field_visit_on": today(), "recommended_amount": loan.amount,
                "recommended_term_months": loan.term_months, "verified_monthly_income": loan.customer.monthly_income,
                "verified_monthly_debt": loan.customer.monthly_debt_payment}
    if name == "pass_review":
        report = Investigation.objects.filter(loan=loan, completed_at__isnull=False).first()
        recommended = report if report and report.opinion == "recommend" else None
        return {"amount": (recommended and recommended.recommended_amount) or loan.amount,
                "term_months": (recommended and recommended.recommended_term_months) or loan.term_months,
                "annual_rate": loan.product.min_rate, "repayment_method": loan.repayment_method}
    if name == "approve":
        return {"amount": loan.proposed_amount or loan.amount, "term_months": loan.proposed_term_months or loan.term_months,
                "annual_rate": loan.proposed_rate if loan.proposed_rate is not None else loan.product.min_rate,
                "repayment_method": loan.proposed_method or loan.repayment_method}
    return {}


def loan_transition(request, pk: int, name: str):
    if name not in transitions.REGISTRY or name not in STEPS:
        raise Http404
    loan = access_loan(request.user, pk)
    step = STEPS[name]
    form = transitions.input_for(name)
    error, status, values, field_errors = None, 200, {}, {}
    if request.method == "POST":
        values = post_data(form, request.POST)
        try:
            transitions.perform(name, loan_id=loan.pk, actor=request.user, data=values)
        except InputError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            field_errors = {k: v if isinstance(v, list) else [v] for k, v in detail.items()}
            error, status = _("Please correct the fields marked below."), 400
        except DomainError as exc:
            error, status = exc.message, exc.status
            if exc.field:
                field_errors = {exc.field: [exc.message]}
        else:
            messages.success(request, _("%(action)s: done.") % {"action": step.label})
            return redirect("loan-detail", loan.pk)
    else:
        values = {**_initial_for(name, loan, request.user)}
        try:
            check_actor(loan, request.user, step)
        except DomainError as exc:
            error, status = exc.message, exc.status
        for field_name, field in form.fields.items():  # dates still to come default to today
            if isinstance(field, serializers.DateField) and field.required and field_name not in values:
                values[field_name] = today()
    rows = describe(form, values, field_errors)
    extra = [str(e) for key, errs in field_errors.items() if key not in form.fields for e in errs]
    return render(request, "applications/transition.html", {
        "loan": loan, "step": step, "rows": rows, "error": error, "extra_errors": extra,
        "blocked": request.method == "GET" and error is not None, "facts": _decision_facts(name, loan, request.user),
    }, status=status)


# The reviewer's and the approver's decisions: their forms show what the rules measure (rules 8, 11, 23, 27).
_DECISIONS = {"pass_review", "return_to_marketing", "approve", "reject", "return_to_review", "escalate"}


def _decision_facts(name: str, loan, user) -> dict | None:
    if name not in _DECISIONS or loan.status not in BEFORE_DECISION:
        return None
    return {"verified": loan.verified_at is not None, "other_installments": other_installments(loan),
            "exposure": customer_exposure(loan),
            "limit": user.approval_limit if user.has_any_post(P.APPROVER, P.BRANCH_APPROVER) else None}
