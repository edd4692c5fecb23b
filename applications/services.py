"""Operations on customers, products and applications (营销/调查)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from applications import rules
from applications.catalog import DOCUMENTS, PURPOSES
from applications.models import (
    Collateral,
    Customer,
    Guarantor,
    Investigation,
    Loan,
    LoanDocument,
    LoanHandover,
    Product,
    Status,
)
from applications.workflow import audit, run_transition
from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.lib.errors import Forbidden, InvalidState, RuleViolation
from loancenter.lib.money import REPAYMENT_METHODS
from loancenter.refusals import recorded
from loancenter.rules import check_past_date, require_post


def _validated(instance, exclude: Iterable[str] = ()) -> None:
    """Model validation; a ValidationError becomes a form error or a 400 with field errors."""
    instance.full_clean(exclude=list(exclude))


# ---------------------------------------------------------------------------------------------------------------
# Customers


CUSTOMER_FIELDS = (
    "name", "id_number", "phone", "address", "employer", "occupation",
    "monthly_income", "monthly_debt_payment", "civil_capacity",
)


@recorded("customer_create", posts=(P.MARKETING,))
@transaction.atomic
def customer_create(*, actor, data: dict) -> Customer:
    customer = Customer(officer=actor, **{k: data[k] for k in CUSTOMER_FIELDS if k in data})
    customer.id_number = (customer.id_number or "").strip().upper()
    _validated(customer, exclude=["officer", "birth_date", "gender"])
    customer.save()
    audit(actor=actor, action="customer_create", obj=customer, payload={"name": customer.name})
    return customer


@recorded("customer_update", posts=(P.MARKETING, P.REVIEWER, P.MANAGER))
@transaction.atomic
def customer_update(*, actor, customer_id: int, data: dict) -> Customer:
    """Edit a customer's details (the registering officer, before any loan is active). The old values are audited."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    editable = set(CUSTOMER_FIELDS) - {"id_number"}
    changes = {k: v for k, v in data.items() if k in editable and getattr(customer, k) != v}
    if "on_warning_list" in data:
        customer_set_warning(actor=actor, customer=customer, on_warning_list=data["on_warning_list"],
                             reason=data.get("reason", ""))
    if not changes:
        return customer
    require_post(actor, P.MARKETING)
    if customer.officer_id != actor.pk:
        raise Forbidden("not_owner", _("Only the officer who registered this customer may edit the details."))
    old = {k: getattr(customer, k) for k in changes}
    for key, value in changes.items():
        setattr(customer, key, value)
    _validated(customer, exclude=["officer", "birth_date", "gender"])
    customer.save()
    audit(actor=actor, action="customer_update", obj=customer, payload={"old": old, "new": changes})
    return customer


@recorded("customer_warning_list", posts=(P.REVIEWER, P.MANAGER))
def customer_set_warning(*, actor, customer: Customer, on_warning_list: bool, reason: str = "") -> Customer:
    """Rule 2's list is kept by reviewers and the manager (SPEC §9)."""
    if customer.on_warning_list == on_warning_list:
        return customer
    customer.on_warning_list = on_warning_list
    customer.save(update_fields=["on_warning_list"])
    audit(actor=actor, action="customer_warning_list", obj=customer,
          payload={"on_warning_list": on_warning_list}, reason=reason)
    return customer


# ---------------------------------------------------------------------------------------------------------------
# Products

PRODUCT_FIELDS = (
    "code", "name", "category", "min_amount", "max_amount", "min_term_months", "max_term_months",
    "repayment_methods", "min_rate", "max_rate", "secured", "max_ltv", "max_dti", "dual_investigation",
    "investigation_rate", "max_age_at_maturity", "penalty_markup", "required_documents", "allowed_purposes",
    "appraisal_validity_days", "active",
)


def check_product(product: Product) -> None:
    """A product's fields agree with the catalogues and with each other (field errors as ValidationError)."""
    errors: dict[str, list[str]] = {}
    methods = product.repayment_methods or []
    if not methods or not isinstance(methods, list) or any(m not in REPAYMENT_METHODS for m in methods):
        errors["repayment_methods"] = [_("Choose one or more of: %(m)s.") % {"m": ", ".join(REPAYMENT_METHODS)}]
    bad_docs = [d for d in product.required_documents or [] if d not in DOCUMENTS]
    if not isinstance(product.required_documents, list) or bad_docs:
        errors["required_documents"] = [_("Unknown document codes: %(c)s.") % {"c": ", ".join(map(str, bad_docs))}]
    bad_purposes = [p for p in product.allowed_purposes or [] if p not in PURPOSES]
    if not isinstance(product.allowed_purposes, list) or bad_purposes:
        errors["allowed_purposes"] = [_("Unknown purposes: %(c)s.") % {"c": ", ".join(map(str, bad_purposes))}]
    if product.min_amount is not None and product.max_amount is not None and product.max_amount < product.min_amount:
        errors["max_amount"] = [_("The maximum amount is below the minimum.")]
    if product.min_term_months and product.max_term_months and product.max_term_months < product.min_term_months:
        errors["max_term_months"] = [_("The maximum term is below the minimum.")]
    if product.min_rate is not None and product.max_rate is not None and product.max_rate < product.min_rate:
        errors["max_rate"] = [_("The maximum rate is below the minimum.")]
    if product.secured and product.max_ltv is None:
        errors["max_ltv"] = [_("A secured product needs a maximum loan-to-value.")]
    if errors:
        raise ValidationError(errors)


@recorded("product_save", posts=(P.GENERAL, P.MANAGER))
@transaction.atomic
def product_save(*, actor, data: dict, product_id: int | None = None) -> Product:
    """Create or update a product (general post and manager)."""
    product = Product.objects.select_for_update().get(pk=product_id) if product_id else Product()
    old = {k: getattr(product, k) for k in data if k in PRODUCT_FIELDS} if product_id else {}
    for key in PRODUCT_FIELDS:
        if key in data:
            setattr(product, key, data[key])
    check_product(product)  # first: its field messages are clearer than full_clean's "constraint violated"
    _validated(product)
    product.save()
    audit(actor=actor, action="product_update" if product_id else "product_create", obj=product,
          payload={"old": old, "new": {k: data[k] for k in data if k in PRODUCT_FIELDS}})
    return product


# ---------------------------------------------------------------------------------------------------------------
# Applications


@dataclass
class ApplicationInput:
    customer: Customer
    product: Product
    amount: Decimal
    term_months: int
    repayment_method: str
    purpose: str
    purpose_detail: str = ""
    long_term_reason: str = ""
    interviewed_on: date | None = None
    credit_authorised: bool = False
    guarantors: Sequence[tuple[Customer, str]] = field(default_factory=list)
    collaterals: Sequence[dict] = field(default_factory=list)
    documents: Sequence[str] = field(default_factory=list)


def _check_application(data: ApplicationInput) -> None:
    product = data.product
    if not product.active:
        raise RuleViolation("product_inactive", _("Product %(p)s is no longer offered.") % {"p": product.name}, field="product")
    rules.check_amount(product, data.amount)
    rules.check_term(product, data.term_months, long_term_reason=data.long_term_reason)
    rules.check_method(product, data.repayment_method)
    rules.check_purpose(product, data.purpose)
    unknown = [c for c in data.documents if c not in DOCUMENTS]
    if unknown:
        raise RuleViolation("documents", _("Unknown document codes: %(c)s.") % {"c": ", ".join(unknown)}, field="documents")
    if data.interviewed_on:
        check_past_date(data.interviewed_on, field="interviewed_on", code="interview")
    for item in data.collaterals:
        if item.get("appraised_on"):
            check_past_date(item["appraised_on"], field="collaterals", code="appraised_on")
    ids = [g.pk for g, _rel in data.guarantors]
    if len(ids) != len(set(ids)):
        raise RuleViolation("guarantor", _("The same guarantor is listed twice."), field="guarantors")
    if data.customer.pk in ids:
        raise RuleViolation("guarantor", _("The borrower cannot guarantee their own loan (rule 10)."), field="guarantors")


def _write_children(loan: Loan, data: ApplicationInput) -> None:
    loan.guarantors.all().delete()
    loan.collaterals.all().delete()
    loan.documents.all().delete()
    Guarantor.objects.bulk_create([Guarantor(loan=loan, customer=c, relationship=rel) for c, rel in data.guarantors])
    collaterals = [Collateral(loan=loan, **item) for item in data.collaterals]
    for item in collaterals:
        _validated(item, exclude=["loan"])
    Collateral.objects.bulk_create(collaterals)
    LoanDocument.objects.bulk_create([LoanDocument(loan=loan, code=code) for code in dict.fromkeys(data.documents)])


_LOAN_SCALARS = ("amount", "term_months", "repayment_method", "purpose", "purpose_detail", "long_term_reason",
                 "interviewed_on", "credit_authorised")


@recorded("create", posts=(P.MARKETING,))
@transaction.atomic
def loan_create(*, actor, data: ApplicationInput) -> Loan:
    """A marketing officer enters an application; they become its marketing officer."""
    _check_application(data)
    loan = Loan(customer=data.customer, product=data.product, marketing_officer=actor,
                **{k: getattr(data, k) for k in _LOAN_SCALARS})
    _validated(loan, exclude=["customer", "product", "marketing_officer", "status", "application_no"])
    loan.save()
    loan.application_no = f"GD{timezone.localdate():%Y%m}{loan.pk:06d}"
    loan.save(update_fields=["application_no"])
    _write_children(loan, data)
    audit(actor=actor, action="create", loan=loan, payload={k: getattr(data, k) for k in _LOAN_SCALARS})
    return loan


@recorded("update", posts=(P.MARKETING,))
@transaction.atomic
def loan_update_draft(*, actor, loan_id: int, data: ApplicationInput) -> Loan:
    """The officer corrects a draft (new, or returned by the reviewer) before submitting it again."""
    loan = Loan.objects.select_for_update().get(pk=loan_id)
    require_post(actor, P.MARKETING)
    if loan.marketing_officer_id != actor.pk:
        raise Forbidden("not_owner", _("Only the loan's own marketing officer may do this."))
    if loan.status != Status.DRAFT:
        raise InvalidState(_("Only a draft application can be edited."))
    _check_application(data)
    for key in _LOAN_SCALARS:
        setattr(loan, key, getattr(data, key))
    loan.customer, loan.product = data.customer, data.product
    _validated(loan, exclude=["customer", "product", "marketing_officer", "status", "application_no"])
    loan.save()
    _write_children(loan, data)
    audit(actor=actor, action="update", loan=loan, payload={k: getattr(data, k) for k in _LOAN_SCALARS})
    return loan


def check_people(loan: Loan, *, as_of: date) -> None:
    """Rules 1, 2 and 10 for the borrower and every guarantor."""
    borrower = loan.customer
    rules.check_civil_capacity(borrower, as_of=as_of, who=_("Borrower"))
    rules.check_not_on_warning_list(borrower, who=_("Borrower"))
    rules.check_guarantors([g.customer for g in loan.guarantors.select_related("customer")], borrower=borrower, as_of=as_of)


def loan_submit(*, loan_id: int, actor) -> Loan:
    def check(loan: Loan) -> None:
        as_of = today()
        product = loan.product
        check_people(loan, as_of=as_of)
        rules.check_age_at_maturity(loan.customer, product, term_months=loan.term_months, start=as_of)
        rules.check_amount(product, loan.amount)
        rules.check_term(product, loan.term_months, long_term_reason=loan.long_term_reason)
        rules.check_method(product, loan.repayment_method)
        rules.check_purpose(product, loan.purpose)
        rules.check_documents(product, loan.documents.values_list("code", flat=True))
        rules.check_interview_and_authorisation(loan)
        rules.check_collateral(product, list(loan.collaterals.all()), amount=loan.amount, as_of=as_of)

    def apply(loan: Loan) -> None:
        loan.submitted_at = timezone.now()

    return run_transition(loan_id=loan_id, actor=actor, name="submit", check=check, apply=apply)


def loan_start_investigation(*, loan_id: int, actor) -> Loan:
    def check(loan: Loan) -> None:
        # Rule 12a: the credit report is queried during the investigation; the authorisation must precede it.
        if not loan.credit_authorised:
            raise RuleViolation(
                "credit_authorisation", _("The borrower's written credit-report authorisation is not recorded (rule 12a).")
            )

    def apply(loan: Loan) -> None:
        Investigation.objects.create(loan=loan, assignee=actor, field_visit_required=rules.field_visit_required(loan))

    loan = run_transition(loan_id=loan_id, actor=actor, name="start_investigation", check=check, apply=apply)
    return loan


def loan_complete_investigation(
    *,
    loan_id: int,
    actor,
    investigators: Sequence,
    opinion: str,
    field_visit_on: date | None = None,
    identity_verified: bool = False,
    income_verified: bool = False,
    purpose_verified: bool = False,
    guarantors_verified: bool = False,
    collateral_verified: bool = False,
    recommended_amount: Decimal | None = None,
    recommended_term_months: int | None = None,
    comment: str = "",
) -> Loan:
    report = {
        "investigators": list(investigators), "opinion": opinion, "field_visit_on": field_visit_on,
        "identity_verified": identity_verified, "income_verified": income_verified,
        "purpose_verified": purpose_verified, "guarantors_verified": guarantors_verified,
        "collateral_verified": collateral_verified, "recommended_amount": recommended_amount,
        "recommended_term_months": recommended_term_months, "comment": comment,
    }

    def check(loan: Loan) -> None:
        people = report["investigators"]
        if actor.pk not in {u.pk for u in people}:
            raise RuleViolation("investigators", _("You must be one of the investigators on the report."), field="investigators")
        for person in people:
            if not person.has_post(P.INVESTIGATOR):
                raise Forbidden("post_required", _("%(name)s does not hold the investigator post.") % {"name": person.username})
            rules.check_separation(loan, person, rules.INVESTIGATOR)
        investigation = loan.investigations.first()
        if field_visit_on:
            check_past_date(field_visit_on, field="field_visit_on", code="field_visit")
        rules.check_investigation_report(loan, report, field_visit=investigation.field_visit_required)
        if opinion == "recommend":
            rules.check_amount(loan.product, recommended_amount, field="recommended_amount")
            rules.check_term(loan.product, recommended_term_months, long_term_reason=loan.long_term_reason,
                             field="recommended_term_months")

    def apply(loan: Loan) -> None:
        investigation = loan.investigations.first()
        for key, value in report.items():
            if key != "investigators":
                setattr(investigation, key, value)
        investigation.completed_at = timezone.now()
        investigation.save()
        investigation.investigators.set(report["investigators"])

    return run_transition(loan_id=loan_id, actor=actor, name="complete_investigation", payload=report,
                          check=check, apply=apply)


def loan_withdraw(*, loan_id: int, actor, reason: str) -> Loan:
    def check(loan: Loan) -> None:
        if not (reason or "").strip():
            raise RuleViolation("reason_required", _("State the reason."), field="reason")

    return run_transition(loan_id=loan_id, actor=actor, name="withdraw", payload={"reason": reason}, check=check)


# ---------------------------------------------------------------------------------------------------------------
# Hand-overs (rule 7)


@transaction.atomic
def investigations_hand_over(*, from_user, to_user, actor, reason: str = "") -> int:
    """Hand every open investigation of ``from_user`` to ``to_user``, one recorded hand-over per loan."""
    if not to_user.has_post(P.INVESTIGATOR):
        raise RuleViolation("handover", _("%(name)s does not hold the investigator post.") % {"name": to_user.username})
    if to_user.pk == from_user.pk:
        raise RuleViolation("handover", _("Hand the investigations to someone else."))
    open_rounds = list(
        Investigation.objects.select_for_update()
        .filter(assignee=from_user, completed_at__isnull=True, loan__status=Status.INVESTIGATING)
        .select_related("loan")
    )
    for investigation in open_rounds:
        rules.check_separation(investigation.loan, to_user, rules.INVESTIGATOR)
    for investigation in open_rounds:
        investigation.assignee = to_user
        investigation.save(update_fields=["assignee"])
        LoanHandover.objects.create(loan=investigation.loan, role="investigator", from_user=from_user, to_user=to_user,
                                    by=actor, reason=reason)
        audit(actor=actor, action="handover", loan=investigation.loan,
              payload={"role": "investigator", "from": from_user.username, "to": to_user.username}, reason=reason)
    return len(open_rounds)


def open_investigations_of(user) -> int:
    return Investigation.objects.filter(assignee=user, completed_at__isnull=True, loan__status=Status.INVESTIGATING).count()
