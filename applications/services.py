"""Operations on customers, products and applications (营销/调查)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from applications import rules
from applications.catalog import DOCUMENTS, PURPOSES
from applications.certificates import check_certificates_free
from applications.events import investigation_completed
from applications.files.selectors import live_codes
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
from applications.pricing.services import clear_rating, grid_rows_valid, product_set_rate_grid
from applications.selectors import concerned_loans, freezing_loan
from applications.workflow import audit, jsonable, run_transition
from loancenter import posts as P
from loancenter.handovers import check_not_handing_over
from loancenter.lib import versioning
from loancenter.lib.dates import today
from loancenter.lib.errors import Conflict, Forbidden, InvalidState, RuleViolation
from loancenter.lib.identifiers import normalise_id_number
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
    "monthly_income", "monthly_debt_payment", "civil_capacity", "region", "industry", "employment_years", "residence",
)


@recorded("customer_create", posts=(P.MARKETING,))
@transaction.atomic
def customer_create(*, actor, data: dict) -> Customer:
    check_not_handing_over(actor)  # SPEC §16.27: nothing new for a giver while their hand-over is pending
    customer = Customer(officer=actor, **{k: data[k] for k in CUSTOMER_FIELDS if k in data})
    customer.id_number = normalise_id_number(customer.id_number)  # rule 25; full_clean normalises the phone
    _validated(customer, exclude=["officer", "birth_date", "gender"])
    customer.save()
    audit(actor=actor, action="customer_create", obj=customer, payload={"name": customer.name})
    return customer


@recorded("customer_update", posts=(P.MARKETING, P.REVIEWER, P.MANAGER))
@transaction.atomic
def customer_update(*, actor, customer_id: int, data: dict, version: int | None = None) -> Customer:
    """Edit a customer's details (the registering officer). Verified facts are frozen while a loan of theirs is in
    progress (rule 23). The old and new values are audited, in the trail of every loan concerned.

    ``version``: the customer's version the form showed (rule 22); stale → ``stale_edit``, nothing changes.
    """
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    versioning.check(customer, version)
    editable = set(CUSTOMER_FIELDS) - {"id_number"}
    changes = {k: v for k, v in data.items() if k in editable and getattr(customer, k) != v}
    if "on_warning_list" in data:
        seen = customer.version
        customer_set_warning(actor=actor, customer=customer, on_warning_list=data["on_warning_list"],
                             reason=data.get("reason", ""), version=version)
        version = None if customer.version != seen else version  # swapped once already, under the same lock
    if not changes:
        return customer
    require_post(actor, P.MARKETING)
    if customer.officer_id != actor.pk:
        raise Forbidden("not_owner", _("Only the officer who registered this customer may edit the details."))
    rules.check_facts_not_frozen(customer, changes, freezing_loan=freezing_loan(customer))  # rule 23
    old = {k: getattr(customer, k) for k in changes}
    for key, value in changes.items():
        setattr(customer, key, value)
    _validated(customer, exclude=["officer", "birth_date", "gender"])
    versioning.bump(customer, expected=version)
    customer.save()
    customer_audit(actor=actor, action="customer_update", customer=customer, payload={"old": old, "new": changes})
    return customer


def customer_audit(*, actor, action: str, customer: Customer, payload: dict, reason: str = "") -> None:
    """A change of a customer's data, with old and new values, in the audit trail of each loan it concerns (the
    loans they borrow or guarantee that are not closed; rule 23), or on its own when there is none."""
    for loan in concerned_loans(customer) or [None]:
        audit(actor=actor, action=action, loan=loan, obj=customer, payload=payload, reason=reason)


@recorded("customer_warning_list", posts=(P.REVIEWER, P.MANAGER))
@transaction.atomic
def customer_set_warning(*, actor, customer: Customer, on_warning_list: bool, reason: str = "",
                         version: int | None = None) -> Customer:
    """Rule 2's list is kept by reviewers and the manager (SPEC §9). ``version``: as the page showed (rule 22);
    the compare-and-swap in ``bump`` holds even when ``customer`` was read without a lock."""
    versioning.check(customer, version)
    if customer.on_warning_list == on_warning_list:
        return customer
    versioning.bump(customer, expected=version)
    customer.on_warning_list = on_warning_list
    customer.save(update_fields=["on_warning_list", "version"])
    customer_audit(actor=actor, action="customer_warning_list", customer=customer,
                   payload={"on_warning_list": on_warning_list, "old": {"on_warning_list": not on_warning_list},
                            "new": {"on_warning_list": on_warning_list}}, reason=reason)
    return customer


# ---------------------------------------------------------------------------------------------------------------
# Products

PRODUCT_FIELDS = (
    "code", "name", "category", "min_amount", "max_amount", "min_term_months", "max_term_months",
    "repayment_methods", "min_rate", "max_rate", "secured", "max_ltv", "max_dti", "dual_investigation",
    "investigation_rate", "max_age_at_maturity", "penalty_markup", "required_documents", "allowed_purposes",
    "appraisal_validity_days", "active", "rate_type",
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


# What a product is, which decides the steps its loans go through and the rules each step asks: secured (rules 9, 14:
# collateral, registration before the receipt), two-person investigation (rules 6, 26) and category (rules 12b, 17,
# the field visit). Read from the product by later steps, so they do not change while a loan of it is under way.
PRODUCT_NATURE = ("category", "secured", "dual_investigation")
# A loan under way: submitted, and not yet settled, withdrawn or rejected (a draft is checked again at submit).
_NOT_UNDER_WAY = (Status.DRAFT, Status.SETTLED, Status.WITHDRAWN, Status.REJECTED)


def check_product_nature_kept(product: Product, changed: Iterable[str]) -> None:
    """Refuse (409 ``product_in_use``) to change what a product is while one of its loans is under way: a secured
    product made unsecured would let a loan already approved on it skip the mortgage registration (rule 14), a
    two-person product made single would let one login complete a two-person investigation (rule 26)."""
    nature = [name for name in PRODUCT_NATURE if name in set(changed)]
    if not nature or product.pk is None:
        return
    loan = product.loans.exclude(status__in=_NOT_UNDER_WAY).order_by("pk").first()
    if loan is not None:
        labels = "、".join(str(Product._meta.get_field(name).verbose_name) for name in nature)
        raise Conflict("product_in_use", _(
            "%(fields)s of product %(product)s cannot change while its loans are under way (e.g. %(loan)s): the steps "
            "of those loans depend on it. Create a new product instead.")
            % {"fields": labels, "product": product.code, "loan": loan.application_no or loan.pk}, field=nature[0])


@recorded("product_save", posts=(P.GENERAL, P.MANAGER))
@transaction.atomic
def product_save(*, actor, data: dict, product_id: int | None = None, version: int | None = None) -> Product:
    """Create or update a product (general post and manager).

    An update writes only the fields that differ, audited old → new; an unchanged save writes nothing. ``version``
    is the product's version the form showed (rule 22): stale → ``stale_edit``, nothing changes.
    """
    product = Product.objects.select_for_update().get(pk=product_id) if product_id else Product()
    if product_id:
        versioning.check(product, version)
    changed = [k for k in PRODUCT_FIELDS if k in data and (not product_id or not _same(getattr(product, k), data[k]))]
    old = {k: getattr(product, k) for k in changed} if product_id else {}
    # SPEC §15: the rate grid is replaced as a whole when given; kept terms of approved loans never change (rule 29).
    grid = data.get("rate_grid")
    old_grid = rate_grid_of(product) if product_id else []
    if grid is not None:
        grid_rows_valid(grid)
        new_grid = [{k: row.get(k) for k in GRID_FIELDS} for row in sorted(grid, key=lambda r: r["rating"])]
        if jsonable(new_grid) != jsonable(old_grid):
            changed.append("rate_grid")
            old["rate_grid"] = old_grid
    check_product_nature_kept(product, changed)
    for key in changed:
        if key != "rate_grid":
            setattr(product, key, data[key])
    check_product(product)  # first: its field messages are clearer than full_clean's "constraint violated"
    _validated(product)
    if product_id and not changed:
        return product
    if product_id:
        versioning.bump(product, expected=version)
    product.save()
    if "rate_grid" in changed:
        product_set_rate_grid(product, grid)
    audit(actor=actor, action="product_update" if product_id else "product_create", obj=product,
          payload={"old": old, "new": {k: data[k] for k in changed}})
    return product


GRID_FIELDS = ("rating", "min_rate", "max_rate", "min_spread_bp", "max_spread_bp", "max_amount")


def rate_grid_of(product: Product) -> list[dict]:
    return [{k: getattr(row, k) for k in GRID_FIELDS} for row in product.rate_grid.order_by("rating")]


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
    ids = [row[0].pk for row in data.guarantors]
    if len(ids) != len(set(ids)):
        raise RuleViolation("guarantor", _("The same guarantor is listed twice."), field="guarantors")
    if data.customer.pk in ids:
        raise RuleViolation("guarantor", _("The borrower cannot guarantee their own loan (rule 10)."), field="guarantors")


def _same(a, b) -> bool:
    return a == b or (a in (None, "") and b in (None, ""))


def _row_id(value) -> int | None:
    return None if value in (None, "") else int(value)


def _unknown_row(field: str):
    return RuleViolation("unknown_row", _("A row of this form is not part of this application; open it again."),
                         field=field)


def _sync_guarantors(loan: Loan, wanted: Sequence[tuple]) -> dict:
    """Make the loan's guarantors what the form or request lists, touching only what differs (rule 22).

    A guarantor is the same row when the same person guarantees (their relationship may change in place); a row
    the form names by id whose person was changed keeps its id with the new person; the rest are added or removed.
    """
    existing = {g.pk: g for g in Guarantor.objects.select_for_update().filter(loan=loan).select_related("customer")}
    by_customer = {g.customer_id: g for g in existing.values()}
    wanted_customers = {row[0].pk for row in wanted}
    kept: dict[int, tuple] = {}
    new: list[tuple] = []
    for customer, relationship, *rest in wanted:
        row_id = _row_id(rest[0]) if rest else None
        if row_id is not None and row_id not in existing:
            raise _unknown_row("guarantors")
        row = by_customer.get(customer.pk)
        if row is None and row_id is not None and existing[row_id].customer_id not in wanted_customers:
            row = existing[row_id]
        if row is None or row.pk in kept:
            new.append((customer, relationship))
        else:
            kept[row.pk] = (customer, relationship)
    removed = [g for pk, g in existing.items() if pk not in kept]
    Guarantor.objects.filter(pk__in=[g.pk for g in removed]).delete()
    changed = []
    for pk, (customer, relationship) in kept.items():
        row = existing[pk]
        diff = {k: (old, new_) for k, old, new_ in (("customer", row.customer_id, customer.pk),
                                                     ("relationship", row.relationship, relationship)) if old != new_}
        if diff:
            row.customer, row.relationship = customer, relationship
            row.save(update_fields=["customer", "relationship"])
            changed.append({"id": pk, "old": {k: o for k, (o, _n) in diff.items()},
                            "new": {k: n for k, (_o, n) in diff.items()}})
    added = Guarantor.objects.bulk_create([Guarantor(loan=loan, customer=c, relationship=r) for c, r in new])
    return _row_changes(
        added=[{"id": g.pk, "customer": g.customer_id, "name": g.customer.name, "relationship": g.relationship}
               for g in added],
        removed=[{"id": g.pk, "customer": g.customer_id, "name": g.customer.name, "relationship": g.relationship}
                 for g in removed],
        changed=changed,
    )


COLLATERAL_FIELDS = ("kind", "description", "owner_name", "certificate_no", "appraised_value", "appraised_on",
                     "disposer_consent")


def _sync_collaterals(loan: Loan, wanted: Sequence[dict]) -> dict:
    """Make the loan's collaterals what the form or request lists: rows named by id are updated in place (with
    their own compare-and-swap version); a row without id that equals an existing one is that row (an API client
    resending the list); anything else is added, and rows no longer listed are removed."""
    existing = {c.pk: c for c in Collateral.objects.select_for_update().filter(loan=loan).order_by("pk")}
    items = []
    for item in wanted:
        item = dict(item)
        row_id, row_version = _row_id(item.pop("id", None)), _row_id(item.pop("version", None))
        items.append((row_id, row_version, {k: item[k] for k in COLLATERAL_FIELDS if k in item}))
    matched: dict[int, tuple] = {}
    for row_id, row_version, values in items:
        if row_id is None:
            continue
        if row_id not in existing or row_id in matched:
            raise _unknown_row("collaterals")
        matched[row_id] = (row_version, values)
    new = []
    for row_id, row_version, values in items:
        if row_id is not None:
            continue
        twin = next((c for pk, c in existing.items() if pk not in matched
                     and all(_same(getattr(c, k), v) for k, v in values.items())), None)
        if twin is not None:
            matched[twin.pk] = (row_version, values)
        else:
            new.append(values)
    removed = [c for pk, c in existing.items() if pk not in matched]
    Collateral.objects.filter(pk__in=[c.pk for c in removed]).delete()
    changed = []
    for pk, (row_version, values) in matched.items():
        row = existing[pk]
        diff = {k: (getattr(row, k), v) for k, v in values.items() if not _same(getattr(row, k), v)}
        if not diff:
            versioning.check(row, row_version)
            continue
        versioning.bump(row, expected=row_version)
        for key, (_old, value) in diff.items():
            setattr(row, key, value)
        _validated(row, exclude=["loan"])
        row.save(update_fields=[*diff, "version"])
        changed.append({"id": pk, "old": {k: o for k, (o, _n) in diff.items()},
                        "new": {k: n for k, (_o, n) in diff.items()}})
    created = [Collateral(loan=loan, **values) for values in new]
    for item in created:
        _validated(item, exclude=["loan"])
    Collateral.objects.bulk_create(created)
    return _row_changes(
        added=[{"id": c.pk, **{k: getattr(c, k) for k in COLLATERAL_FIELDS}} for c in created],
        removed=[{"id": c.pk, **{k: getattr(c, k) for k in COLLATERAL_FIELDS}} for c in removed],
        changed=changed,
    )


def _sync_documents(loan: Loan, codes: Sequence[str]) -> dict:
    """Ticked codes are kept as they are (their received date too), unticked ones removed, new ones added."""
    wanted = list(dict.fromkeys(codes))
    existing = set(LoanDocument.objects.filter(loan=loan).values_list("code", flat=True))
    removed = sorted(existing - set(wanted))
    LoanDocument.objects.filter(loan=loan, code__in=removed).delete()
    added = [code for code in wanted if code not in existing]
    LoanDocument.objects.bulk_create([LoanDocument(loan=loan, code=code) for code in added])
    return _row_changes(added=added, removed=removed)


def _row_changes(*, added=(), removed=(), changed=()) -> dict:
    return {k: list(v) for k, v in (("added", added), ("removed", removed), ("changed", changed)) if v}


def _write_children(loan: Loan, data: ApplicationInput) -> dict:
    """The application's rows as the input lists them; returns what changed, per kind of row (empty: nothing)."""
    changes = {
        "guarantors": _sync_guarantors(loan, data.guarantors),
        "collaterals": _sync_collaterals(loan, data.collaterals),
        "documents": _sync_documents(loan, data.documents),
    }
    return {k: v for k, v in changes.items() if v}


_LOAN_SCALARS = ("amount", "term_months", "repayment_method", "purpose", "purpose_detail", "long_term_reason",
                 "interviewed_on", "credit_authorised")


@recorded("create", posts=(P.MARKETING,))
@transaction.atomic
def loan_create(*, actor, data: ApplicationInput) -> Loan:
    """A marketing officer enters an application; they become its marketing officer."""
    check_not_handing_over(actor)  # SPEC §16.27
    _check_application(data)
    check_certificates_free(data.collaterals)
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
def loan_update_draft(*, actor, loan_id: int, data: ApplicationInput, version: int | None = None) -> Loan:
    """The officer corrects a draft (new, or returned by the reviewer) before submitting it again.

    Only what differs from the draft is written: fields, and rows updated in place, added or removed (rule 22).
    ``version`` is the draft's version the form showed (an API client may leave it out): when someone saved the
    draft since, the edit is refused with ``stale_edit`` and nothing is written. The audit row lists each change
    old → new; an unchanged save writes nothing, not even an audit row.
    """
    loan = Loan.objects.select_for_update().select_related("customer", "product").get(pk=loan_id)
    require_post(actor, P.MARKETING)
    if loan.marketing_officer_id != actor.pk:
        raise Forbidden("not_owner", _("Only the loan's own marketing officer may do this."))
    if loan.status != Status.DRAFT:
        raise InvalidState(_("Only a draft application can be edited."))
    versioning.check(loan, version)
    _check_application(data)
    check_certificates_free(data.collaterals, loan=loan)
    old = {k: getattr(loan, k) for k in _LOAN_SCALARS}
    new = {k: getattr(data, k) for k in _LOAN_SCALARS}
    if loan.customer_id != data.customer.pk:
        old["customer"], new["customer"] = loan.customer_id, data.customer.pk
    if loan.product_id != data.product.pk:
        old["product"], new["product"] = loan.product.code, data.product.code
    changed = [k for k in old if not _same(old[k], new[k])]
    for key in _LOAN_SCALARS:
        setattr(loan, key, getattr(data, key))
    loan.customer, loan.product = data.customer, data.product
    _validated(loan, exclude=["customer", "product", "marketing_officer", "status", "application_no"])
    rows = _write_children(loan, data)
    if not changed and not rows:
        return loan
    versioning.bump(loan, expected=version)
    if changed:
        loan.save(update_fields=[*changed, "version"])
    audit(actor=actor, action="update", loan=loan,
          payload={"old": {k: old[k] for k in changed}, "new": {k: new[k] for k in changed}, **rows,
                   "version": loan.version})
    return loan


def check_people(loan: Loan, *, as_of: date) -> None:
    """Rules 1, 2 and 10 for the borrower and every guarantor."""
    borrower = loan.customer
    rules.check_civil_capacity(borrower, as_of=as_of, who=_("Borrower"))
    rules.check_not_on_warning_list(borrower, who=_("Borrower"))
    rules.check_guarantors([g.customer for g in loan.guarantors.select_related("customer")], borrower=borrower, as_of=as_of)


def check_people_again(loan: Loan, *, as_of: date) -> None:
    """Rule 24: rules 1–2 once more before the money leaves (``prepare_receipt``, ``disburse``), for the borrower and
    every guarantor as they are today: a customer put on the warning list after approval is not paid."""
    for who, person in [(_("Borrower"), loan.customer),
                        *((_("Guarantor"), g.customer) for g in loan.guarantors.select_related("customer").order_by("pk"))]:
        rules.check_civil_capacity(person, as_of=as_of, who=who)
        rules.check_not_on_warning_list(person, who=who)


# ---------------------------------------------------------------------------------------------------------------
# Rule 23: the facts the investigation verified, kept on the loan


def keep_verified_facts(loan: Loan, *, monthly_income: Decimal | None, monthly_debt: Decimal | None) -> None:
    """Keep on the loan what the investigation verified: the borrower's income and monthly debt (as the investigator
    states them; default: the customer's figures now), ID number, birth date and civil capacity, each guarantor's
    income and each appraisal. The loan row is saved by the transition; the guarantor and collateral rows here."""
    customer = Customer.objects.get(pk=loan.customer_id)
    loan.verified_at = timezone.now()
    loan.verified_monthly_income = customer.monthly_income if monthly_income is None else monthly_income
    loan.verified_monthly_debt = customer.monthly_debt_payment if monthly_debt is None else monthly_debt
    loan.verified_id_number, loan.verified_birth_date = customer.id_number, customer.birth_date
    loan.verified_civil_capacity = customer.civil_capacity
    guarantors = list(loan.guarantors.select_related("customer"))
    for guarantor in guarantors:
        guarantor.verified_monthly_income = guarantor.customer.monthly_income
    Guarantor.objects.bulk_update(guarantors, ["verified_monthly_income"])
    collaterals = list(loan.collaterals.all())
    for collateral in collaterals:
        collateral.verified_appraised_value = collateral.appraised_value
        collateral.verified_appraised_on = collateral.appraised_on
    Collateral.objects.bulk_update(collaterals, ["verified_appraised_value", "verified_appraised_on"])


def drop_verified_facts(loan: Loan) -> None:
    """A loan returned to marketing loses its verified facts: it is investigated again (SPEC §16.11)."""
    loan.verified_at = loan.verified_monthly_income = loan.verified_monthly_debt = loan.verified_birth_date = None
    loan.verified_id_number = loan.verified_civil_capacity = ""
    clear_rating(loan)  # rated again when investigated again (SPEC §15)
    Guarantor.objects.filter(loan=loan).update(verified_monthly_income=None)
    Collateral.objects.filter(loan=loan).update(verified_appraised_value=None, verified_appraised_on=None)


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
        rules.check_documents(product, live_codes(loan))  # files, not the paper column (SPEC §16.9)
        rules.check_interview_and_authorisation(loan)
        collaterals = list(loan.collaterals.all())  # read once for both rules
        rules.check_collateral(product, collaterals, amount=loan.amount, as_of=as_of)
        check_certificates_free(collaterals, loan=loan)

    def apply(loan: Loan) -> None:
        loan.submitted_at = timezone.now()

    return run_transition(loan_id=loan_id, actor=actor, name="submit", check=check, apply=apply)


def loan_start_investigation(*, loan_id: int, actor) -> Loan:
    def check(loan: Loan) -> None:
        check_not_handing_over(actor)  # SPEC §16.27: the round would be the giver's
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
    verified_monthly_income: Decimal | None = None,
    verified_monthly_debt: Decimal | None = None,
    credit_queries: Sequence[int] = (),
) -> Loan:
    query_ids = sorted({int(q) for q in credit_queries or ()})
    report = {
        "investigators": list(investigators), "opinion": opinion, "field_visit_on": field_visit_on,
        "identity_verified": identity_verified, "income_verified": income_verified,
        "purpose_verified": purpose_verified, "guarantors_verified": guarantors_verified,
        "collateral_verified": collateral_verified, "recommended_amount": recommended_amount,
        "recommended_term_months": recommended_term_months, "comment": comment,
    }
    # The audit row carries the report and the figures the loan keeps (rule 23).
    payload = {**report, "verified_monthly_income": verified_monthly_income, "verified_monthly_debt": verified_monthly_debt,
               "credit_queries": query_ids}

    def check(loan: Loan) -> None:
        people = report["investigators"]
        if actor.pk not in {u.pk for u in people}:
            raise RuleViolation("investigators", _("You must be one of the investigators on the report."), field="investigators")
        for person in people:
            if not person.has_post(P.INVESTIGATOR):
                raise Forbidden("post_required", _("%(name)s does not hold the investigator post.") % {"name": person.username})
            rules.check_separation(loan, person, rules.INVESTIGATOR)
        investigation = loan.current_investigation
        if field_visit_on:
            check_past_date(field_visit_on, field="field_visit_on", code="field_visit")
        rules.check_investigation_report(loan, report, field_visit=investigation.field_visit_required)
        if loan.product.dual_investigation:  # rule 26: the second co-signs with their own login
            (second,) = [person for person in people if person.pk != actor.pk]
            rules.check_cosigner_available(second, now=timezone.now())
        if opinion == "recommend":
            rules.check_amount(loan.product, recommended_amount, field="recommended_amount")
            rules.check_term(loan.product, recommended_term_months, long_term_reason=loan.long_term_reason,
                             field="recommended_term_months")
        if query_ids:
            rules.check_credit_queries(loan, investigation, query_ids)

    def apply(loan: Loan) -> None:
        investigation = loan.current_investigation
        for key, value in report.items():
            if key != "investigators":
                setattr(investigation, key, value)
        investigation.reported_at = timezone.now()
        if loan.status == Status.INVESTIGATING:  # a two-person product: the report waits for the co-signature
            investigation.cosigner = next(person for person in report["investigators"] if person.pk != actor.pk)
        else:
            investigation.cosigner, investigation.completed_at = None, investigation.reported_at
        investigation.save()
        investigation.investigators.set(report["investigators"])
        investigation.credit_queries.set(query_ids)
        keep_verified_facts(loan, monthly_income=verified_monthly_income, monthly_debt=verified_monthly_debt)
        payload.update(verified_monthly_income=loan.verified_monthly_income,
                       verified_monthly_debt=loan.verified_monthly_debt)
        if investigation.completed_at is not None:
            _investigation_completed(loan, payload)

    return run_transition(loan_id=loan_id, actor=actor, name="complete_investigation", payload=payload,
                          check=check, apply=apply)


def _investigation_completed(loan: Loan, payload: dict) -> None:
    """The investigation is complete: the risk rating is computed on the verified facts (SPEC §15) by the receivers
    of ``applications.events.investigation_completed``; the audit row carries what they kept."""
    investigation_completed.send(sender=Loan, loan=loan)
    if loan.rating:
        payload.update(score=loan.score, rating=loan.rating, rating_reasons=loan.rating_reasons,
                       scorecard_version=loan.scorecard_version_id)


def loan_cosign_investigation(*, loan_id: int, actor, agree: bool, comment: str = "") -> Loan:
    """Rule 26: the second investigator the report names co-signs it with their own login. Agreeing completes the
    investigation (to review); disagreeing, with a comment, returns the report to the first investigator."""
    payload = {"agree": agree, "comment": comment}

    def check(loan: Loan) -> None:
        rules.check_cosignature(agree=agree, comment=comment)

    def apply(loan: Loan) -> None:
        investigation = loan.current_investigation
        investigation.cosign_comment = comment
        if agree:
            investigation.completed_at = timezone.now()
        else:
            investigation.reported_at, investigation.returned_at = None, timezone.now()
        investigation.save(update_fields=["cosign_comment", "completed_at", "reported_at", "returned_at"])
        if agree:
            _investigation_completed(loan, payload)

    return run_transition(loan_id=loan_id, actor=actor, name="cosign_investigation", payload=payload, check=check,
                          apply=apply, transition_kwargs={"agree": agree})


def loan_withdraw(*, loan_id: int, actor, reason: str) -> Loan:
    def check(loan: Loan) -> None:
        if not (reason or "").strip():
            raise RuleViolation("reason_required", _("State the reason."), field="reason")

    return run_transition(loan_id=loan_id, actor=actor, name="withdraw", payload={"reason": reason}, check=check)


# ---------------------------------------------------------------------------------------------------------------
# Hand-overs (rule 7)


def _open_rounds(user):
    """Investigation rounds waiting for ``user``: assigned to them and not completed, or waiting for their
    co-signature (rule 26)."""
    waiting_for_cosignature = Q(cosigner=user, reported_at__isnull=False)
    return Investigation.objects.filter(Q(assignee=user) | waiting_for_cosignature, completed_at__isnull=True,
                                        loan__status=Status.INVESTIGATING)


@transaction.atomic
def investigations_hand_over(*, from_user, to_user, actor, reason: str = "") -> int:
    """Hand every open investigation of ``from_user`` (and every report waiting for their co-signature) to
    ``to_user``, one recorded hand-over per loan. Nobody becomes both investigators of one report (rule 26)."""
    if not to_user.has_post(P.INVESTIGATOR):
        raise RuleViolation("handover", _("%(name)s does not hold the investigator post.") % {"name": to_user.username})
    if to_user.pk == from_user.pk:
        raise RuleViolation("handover", _("Hand the investigations to someone else."))
    open_rounds = list(_open_rounds(from_user).select_for_update().select_related("loan"))
    for investigation in open_rounds:
        rules.check_separation(investigation.loan, to_user, rules.INVESTIGATOR)
        other = investigation.cosigner_id if investigation.assignee_id == from_user.pk else investigation.assignee_id
        if investigation.awaits_cosignature and other == to_user.pk:
            raise RuleViolation(
                "handover",
                _("%(name)s would both file and co-sign the investigation report of %(loan)s (rule 26).")
                % {"name": to_user.username, "loan": investigation.loan},
            )
    for investigation in open_rounds:
        if investigation.assignee_id == from_user.pk:
            role, investigation.assignee = "investigator", to_user
            investigation.save(update_fields=["assignee"])
        else:  # the second investigator's co-signature: the report names the successor instead
            role, investigation.cosigner = "cosigner", to_user
            investigation.save(update_fields=["cosigner"])
            investigation.investigators.remove(from_user)
            investigation.investigators.add(to_user)
        LoanHandover.objects.create(loan=investigation.loan, role=role, from_user=from_user, to_user=to_user,
                                    by=actor, reason=reason)
        audit(actor=actor, action="handover", loan=investigation.loan,
              payload={"role": role, "from": from_user.username, "to": to_user.username}, reason=reason)
    return len(open_rounds)


def open_investigations_of(user) -> int:
    return _open_rounds(user).count()
