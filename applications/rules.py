"""Pure guards for origination (SPEC §3 rules 1–10, 12a, 12b) and separation of duty (SPEC §4).

Each guard raises :class:`RuleViolation` naming the rule and the figures that broke it, so that the
person refused knows what to fix. Guards read only what they are given plus the loan's related rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.utils.translation import gettext as _

from applications.catalog import (
    CATEGORY_BUSINESS,
    CATEGORY_CONSUMER,
    DOCUMENTS,
    PROHIBITED_FOR_CONSUMER,
    PROHIBITED_PURPOSES,
    PURPOSES,
)
from loancenter.lib.dates import add_months, age_on
from loancenter.lib.errors import Conflict, RuleViolation, SeparationOfDuty
from loancenter.lib.identifiers import normalise_certificate_no
from loancenter.lib.money import ZERO, fmt_pct
from loancenter.lib.sql import fetch_all

# ---------------------------------------------------------------------------------------------------------------
# Rule 23: the facts the investigation verified


@dataclass(frozen=True)
class Person:
    """A borrower or guarantor as review and approval read them (rule 23): the facts the investigation verified, kept
    on the loan, with the warning-list flag as it is today (rule 2 is the bank's list, never a verified fact)."""

    pk: int
    name: str
    birth_date: date
    civil_capacity: str
    on_warning_list: bool
    monthly_income: Decimal | None
    monthly_debt_payment: Decimal = ZERO


@dataclass(frozen=True)
class Appraisal:
    """A collateral's appraisal as the investigation verified it (rule 23), for rule 9."""

    description: str
    certificate_no: str
    disposer_consent: bool
    appraised_value: Decimal
    appraised_on: date


# A customer's facts that the investigation verifies and that are frozen while a loan they borrow or guarantee is
# in progress (rule 23); they change through rule 20's reviewed request, or before disbursement by returning the
# application to marketing.
FROZEN_FACTS = ("monthly_income", "monthly_debt_payment", "id_number", "civil_capacity", "phone", "address")


def check_facts_not_frozen(customer, changed: Iterable[str], *, freezing_loan) -> None:
    """Rule 23: refuse (409 ``verified_fact``) a direct edit of a verified fact while ``freezing_loan`` (a loan the
    customer borrows or guarantees, submitted and not yet settled, withdrawn or rejected) is in progress."""
    frozen = [name for name in FROZEN_FACTS if name in set(changed)]
    if not frozen or freezing_loan is None:
        return
    labels = "、".join(str(customer._meta.get_field(name).verbose_name) for name in frozen)
    error = Conflict(
        "verified_fact",
        _("%(fields)s of %(name)s were verified for application %(loan)s and are frozen while it is in progress "
          "(rule 23). Before disbursement the reviewer returns the application to marketing; after disbursement "
          "they change through a change-of-borrower-data request (rule 20).")
        % {"fields": labels, "name": customer.name, "loan": freezing_loan},
        field=frozen[0],
    )
    error.loan_id = freezing_loan.pk
    raise error


# ---------------------------------------------------------------------------------------------------------------
# Rules 1, 2, 3, 10: the people


def check_civil_capacity(customer, *, as_of: date, who: str) -> None:
    """Rule 1: no loan to (or guarantee by) a person without full civil capacity."""
    age = age_on(customer.birth_date, as_of)
    if age < 18:
        raise RuleViolation(
            "civil_capacity",
            _("%(who)s %(name)s is %(age)s years old (from the ID number); a person under 18 has no full civil capacity (rule 1).")
            % {"who": who, "name": customer.name, "age": age},
        )
    if customer.civil_capacity != "full":
        raise RuleViolation(
            "civil_capacity",
            _("%(who)s %(name)s does not have full civil capacity (rule 1).") % {"who": who, "name": customer.name},
        )


def check_not_on_warning_list(customer, *, who: str) -> None:
    """Rule 2: no loan to (or guarantee by) a customer on the credit warning list."""
    if customer.on_warning_list:
        raise RuleViolation(
            "warning_list",
            _("%(who)s %(name)s is on the bank's credit warning list (rule 2).") % {"who": who, "name": customer.name},
        )


def check_age_at_maturity(customer, product, *, term_months: int, start: date) -> None:
    """Rule 3: the borrower's age at maturity must not exceed the product's limit."""
    maturity = add_months(start, term_months)
    age = age_on(customer.birth_date, maturity)
    if age > product.max_age_at_maturity:
        raise RuleViolation(
            "age_at_maturity",
            _("The borrower would be %(age)s at maturity (%(maturity)s); the product allows at most %(limit)s (rule 3).")
            % {"age": age, "maturity": maturity.isoformat(), "limit": product.max_age_at_maturity},
        )


def check_guarantors(guarantors: Sequence, *, borrower, as_of: date) -> None:
    """Rule 10: guarantors have full civil capacity, are not on the warning list, and have income recorded."""
    for guarantor in guarantors:
        who = _("Guarantor")
        if guarantor.pk == borrower.pk:
            raise RuleViolation("guarantor", _("The borrower cannot guarantee their own loan (rule 10)."))
        check_civil_capacity(guarantor, as_of=as_of, who=who)
        check_not_on_warning_list(guarantor, who=who)
        if not guarantor.monthly_income or guarantor.monthly_income <= 0:
            raise RuleViolation(
                "guarantor",
                _("Guarantor %(name)s has no income recorded (rule 10).") % {"name": guarantor.name},
            )


# ---------------------------------------------------------------------------------------------------------------
# Rules 4, 12b: the product's bounds


def check_amount(product, amount: Decimal, *, field: str = "amount") -> None:
    if amount <= 0:
        raise RuleViolation("amount", _("The amount must be greater than zero."), field=field)
    if amount < product.min_amount or amount > product.max_amount:
        raise RuleViolation(
            "amount_out_of_range",
            _("Amount %(amount)s is outside the product's range %(min)s–%(max)s (rule 4).")
            % {"amount": f"{amount:,.2f}", "min": f"{product.min_amount:,.2f}", "max": f"{product.max_amount:,.2f}"},
            field=field,
        )


def check_term(product, term_months: int, *, long_term_reason: str = "", field: str = "term_months") -> None:
    """Rule 4 (the product's range) and rule 12b (category caps: consumer ≤ 60, business ≤ 60 or 120 with a reason)."""
    if term_months < product.min_term_months or term_months > product.max_term_months:
        raise RuleViolation(
            "term_out_of_range",
            _("Term %(term)s months is outside the product's range %(min)s–%(max)s months (rule 4).")
            % {"term": term_months, "min": product.min_term_months, "max": product.max_term_months},
            field=field,
        )
    if product.category == CATEGORY_CONSUMER and term_months > 60:
        raise RuleViolation("term_cap", _("Consumer loans run at most 60 months (rule 12b)."), field=field)
    if product.category == CATEGORY_BUSINESS:
        if term_months > 120:
            raise RuleViolation("term_cap", _("Business loans run at most 120 months (rule 12b)."), field=field)
        if term_months > 60 and not (long_term_reason or "").strip():
            raise RuleViolation(
                "term_cap",
                _("A business loan over 60 months needs a recorded reason (rule 12b)."),
                field="long_term_reason",
            )


def check_method(product, method: str, *, field: str = "repayment_method") -> None:
    if method not in (product.repayment_methods or []):
        raise RuleViolation(
            "repayment_method",
            _("Repayment method %(method)s is not offered by this product (rule 4).") % {"method": method},
            field=field,
        )


def check_rate(product, annual_rate: Decimal, *, field: str = "annual_rate") -> None:
    if annual_rate < product.min_rate or annual_rate > product.max_rate:
        raise RuleViolation(
            "rate_out_of_range",
            _("Annual rate %(rate)s is outside the product's range %(min)s–%(max)s.")
            % {"rate": annual_rate, "min": product.min_rate, "max": product.max_rate},
            field=field,
        )


def check_purpose(product, purpose: str) -> None:
    """Rule 4: never a prohibited purpose; one of the product's allowed purposes where it lists them."""
    if purpose not in PURPOSES:
        raise RuleViolation("purpose", _("Unknown purpose %(purpose)s.") % {"purpose": purpose}, field="purpose")
    label = PURPOSES[purpose]
    if purpose in PROHIBITED_PURPOSES or (product.category == CATEGORY_CONSUMER and purpose in PROHIBITED_FOR_CONSUMER):
        raise RuleViolation(
            "prohibited_purpose",
            _("Loan funds may not be used for: %(purpose)s (rule 4).") % {"purpose": label},
            field="purpose",
        )
    if product.allowed_purposes and purpose not in product.allowed_purposes:
        raise RuleViolation(
            "purpose",
            _("This product does not lend for: %(purpose)s (rule 4).") % {"purpose": label},
            field="purpose",
        )


def check_documents(product, received: Iterable[str]) -> None:
    """Rule 5: every document the product requires has been received."""
    missing = [code for code in product.required_documents if code not in set(received)]
    if missing:
        names = "、".join(str(DOCUMENTS.get(code, code)) for code in missing)
        raise RuleViolation("documents_missing", _("Required documents missing: %(names)s (rule 5).") % {"names": names})


def check_interview_and_authorisation(loan) -> None:
    """Rule 12a: a face-to-face interview and the written credit-report authorisation are recorded."""
    if not loan.interviewed_on:
        raise RuleViolation("interview", _("The face-to-face interview has not been recorded (rule 12a)."))
    if not loan.credit_authorised:
        raise RuleViolation(
            "credit_authorisation", _("The borrower's written credit-report authorisation is not recorded (rule 12a).")
        )


# ---------------------------------------------------------------------------------------------------------------
# Rules 8, 9: affordability and security


def check_dti(customer, product, *, installment: Decimal, other_installments: Decimal = ZERO) -> None:
    """Rule 8: (existing monthly debt + new installment) / monthly income ≤ the product's max_dti.

    The existing debt is the declared one plus the monthly installments of the borrower's other live loans in this
    system (``other_installments``, rule 27).
    """
    if not customer.monthly_income or customer.monthly_income <= 0:
        raise RuleViolation("dti", _("The borrower has no monthly income recorded; debt-to-income cannot be assessed (rule 8)."))
    dti = (customer.monthly_debt_payment + other_installments + installment) / customer.monthly_income
    if dti > product.max_dti:
        if other_installments:
            message = _("Debt-to-income %(dti)s exceeds the product limit %(max)s (rule 8); it counts %(other)s a "
                        "month for the borrower's other loans here (rule 27).")
        else:
            message = _("Debt-to-income %(dti)s exceeds the product limit %(max)s (rule 8).")
        raise RuleViolation(
            "dti_exceeded",
            message % {"dti": fmt_pct(dti), "max": fmt_pct(product.max_dti), "other": f"{other_installments:,.2f}"},
        )


def check_collateral(product, collaterals: Sequence, *, amount: Decimal, as_of: date) -> None:
    """Rule 9: secured loans have collateral with a fresh appraisal, certificate and disposer consent; LTV ≤ max_ltv."""
    if not product.secured:
        return
    if not collaterals:
        raise RuleViolation("collateral", _("This product is secured: collateral must be recorded (rule 9)."))
    oldest_allowed = as_of - timedelta(days=product.appraisal_validity_days)
    for item in collaterals:
        if item.appraised_on < oldest_allowed:
            raise RuleViolation(
                "appraisal_expired",
                _("The appraisal of %(what)s dated %(on)s is older than %(days)s days (rule 9).")
                % {"what": item.description, "on": item.appraised_on.isoformat(), "days": product.appraisal_validity_days},
            )
        if not item.certificate_no:
            raise RuleViolation(
                "collateral", _("The ownership certificate of %(what)s is not recorded (rule 9).") % {"what": item.description}
            )
        if not item.disposer_consent:
            raise RuleViolation(
                "collateral",
                _("The consent of everyone with a right to dispose of %(what)s is not recorded (rule 9).")
                % {"what": item.description},
            )
    total = sum((c.appraised_value for c in collaterals), Decimal("0"))
    ltv = amount / total
    if product.max_ltv is not None and ltv > product.max_ltv:
        raise RuleViolation(
            "ltv_exceeded",
            _("Loan-to-value %(ltv)s exceeds the product limit %(max)s (rule 9).")
            % {"ltv": fmt_pct(ltv), "max": fmt_pct(product.max_ltv)},
        )


# A loan in one of these states no longer holds its collateral (rule 28); a written-off loan still does.
CERTIFICATE_RELEASED = ("settled", "withdrawn", "rejected")


def check_certificates_free(collaterals: Iterable, *, loan=None) -> None:
    """Rule 28: one certificate backs one live loan (SPEC §10, §16.16).

    ``collaterals`` are ``Collateral`` rows or the dicts of an application's input; their certificate numbers are
    compared in their normal form (rule 25). Refused when one is listed twice, or when it backs a loan other than
    ``loan`` that is not settled, withdrawn or rejected — the refusal names that loan. Checked when the collateral is
    entered and again at submit, review and approval, and collateral registration.
    """
    from applications.models import Collateral

    numbers: list[str] = []
    for item in collaterals:
        raw = item.get("certificate_no", "") if isinstance(item, dict) else item.certificate_no
        number = normalise_certificate_no(raw)
        if not number:
            continue
        if number in numbers:
            raise RuleViolation("certificate_listed_twice", _("Certificate %(no)s is listed twice.") % {"no": number},
                                field="collaterals")
        numbers.append(number)
    if not numbers:
        return
    other = (
        Collateral.objects.filter(certificate_no__in=numbers)
        .exclude(loan__status__in=CERTIFICATE_RELEASED)
        .exclude(loan_id=getattr(loan, "pk", None))
        .select_related("loan")
        .order_by("loan_id")
        .first()
    )
    if other is not None:
        raise RuleViolation(
            "certificate_in_use",
            _("Certificate %(no)s already backs loan %(loan)s, which is not settled, withdrawn or rejected (rule 28).")
            % {"no": other.certificate_no, "loan": other.loan.application_no or other.loan_id},
            field="collaterals",
        )


# ---------------------------------------------------------------------------------------------------------------
# Rule 6: investigation


def field_visit_required(loan) -> bool:
    """Rule 6: always for business loans; otherwise drawn with the product's rate, the same answer every time.

    The draw hashes the loan's id, so re-running the step (or asking again) never changes it.
    """
    if loan.product.category == CATEGORY_BUSINESS:
        return True
    rate = Decimal(loan.product.investigation_rate)
    if rate >= 1:
        return True
    if rate <= 0:
        return False
    digest = hashlib.sha256(f"field-visit:{loan.pk}".encode()).digest()
    draw = Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2**64)
    return draw < rate


def check_investigation_report(loan, report: dict, *, field_visit: bool) -> None:
    """Rule 6: the report states identity, income, purpose, guarantor and collateral findings and a clear opinion."""
    investigators = report["investigators"]
    if loan.product.dual_investigation and len({u.pk for u in investigators}) < 2:
        raise RuleViolation(
            "dual_investigation", _("This product requires two different investigators on the report (rule 6)."),
            field="investigators",
        )
    if field_visit and not report.get("field_visit_on"):
        raise RuleViolation(
            "field_visit", _("A field visit is required for this application; record its date (rule 6)."),
            field="field_visit_on",
        )
    opinion = report["opinion"]
    if opinion == "recommend":
        checks = [("identity_verified", _("identity")), ("income_verified", _("income")), ("purpose_verified", _("purpose"))]
        if loan.guarantors.exists():
            checks.append(("guarantors_verified", _("guarantors")))
        if loan.collaterals.exists():
            checks.append(("collateral_verified", _("collateral")))
        unverified = [str(label) for key, label in checks if not report.get(key)]
        if unverified:
            raise RuleViolation(
                "investigation_incomplete",
                _("A recommendation needs verified findings on: %(items)s (rule 6).") % {"items": "、".join(unverified)},
            )
        if not report.get("recommended_amount") or not report.get("recommended_term_months"):
            raise RuleViolation(
                "investigation_incomplete",
                _("A recommendation states the recommended amount and term (rule 6)."),
                field="recommended_amount",
            )
    elif not (report.get("comment") or "").strip():
        raise RuleViolation(
            "investigation_incomplete", _("A decline states its reasons in the comment (rule 6)."), field="comment"
        )


# ---------------------------------------------------------------------------------------------------------------
# Separation of duty (SPEC §4)

MARKETING = "marketing"
INVESTIGATOR = "investigator"
REVIEWER = "reviewer"
APPROVER = "approver"
REGISTRAR = "collateral_registrar"
DISBURSER = "disburser"

# Unordered pairs of roles one person may not both hold on one loan.
CONFLICTS = frozenset(
    frozenset(pair)
    for pair in [
        (MARKETING, INVESTIGATOR), (MARKETING, REVIEWER), (MARKETING, APPROVER), (MARKETING, DISBURSER),
        (INVESTIGATOR, REVIEWER), (INVESTIGATOR, APPROVER),
        (REVIEWER, APPROVER), (REVIEWER, REGISTRAR),
        (APPROVER, DISBURSER), (APPROVER, REGISTRAR),
        (REGISTRAR, DISBURSER),
    ]
)


def _role_label(role: str) -> str:
    labels = {
        MARKETING: _("marketing officer"),
        INVESTIGATOR: _("investigator"),
        REVIEWER: _("reviewer"),
        APPROVER: _("approver"),
        REGISTRAR: _("collateral registrar"),
        DISBURSER: _("disbursement officer"),
    }
    return str(labels[role])


def roles_held(loan, user) -> set[str]:
    """The roles ``user`` already holds on ``loan``.

    The loan's own columns name its marketing officer, reviewer and approver; the rest comes from one query
    (:func:`_role_facts`) that asks the investigation, audit, registration and disbursement tables at once.
    """
    held: set[str] = set()
    if loan.marketing_officer_id == user.pk:
        held.add(MARKETING)
    if loan.reviewer_id == user.pk:
        held.add(REVIEWER)
    if user.pk in (loan.approver_id, loan.escalated_by_id):
        held.add(APPROVER)
    if not loan.pk or not user.pk:
        return held
    investigated, reviewed, decided, registered, disbursed = _role_facts(loan.pk, user.pk)
    # A loan returned to marketing or to review is reviewed/decided again by someone else, which overwrites
    # ``reviewer``/``approver``; whoever reviewed or decided it before keeps that role (the audit trail says so).
    for role, fact in ((INVESTIGATOR, investigated), (REVIEWER, reviewed), (APPROVER, decided),
                       (REGISTRAR, registered), (DISBURSER, disbursed)):
        if fact:
            held.add(role)
    return held


_REVIEW_ACTIONS = ("pass_review", "return_to_marketing")
_APPROVAL_ACTIONS = ("approve", "reject", "return_to_review", "escalate")


# The five questions of ``roles_held`` in one statement: assigned to or named on any investigation round; a review,
# then an approval action in the audit trail; the collateral registration's clerk; the disburser. Five ORM queries
# cost about 4 ms of CPU a loan page, most of it building their SQL; this statement costs 0.15 ms.
_ROLE_FACTS_SQL = f"""
    SELECT EXISTS (SELECT 1 FROM applications_investigation i
                    WHERE i.loan_id = %(loan)s AND (i.assignee_id = %(user)s OR EXISTS (
                          SELECT 1 FROM applications_investigation_investigators iu
                           WHERE iu.investigation_id = i.id AND iu.user_id = %(user)s))),
           EXISTS (SELECT 1 FROM loancenter_auditentry
                    WHERE loan_id = %(loan)s AND actor_id = %(user)s AND action IN ({", ".join(f"'{a}'" for a in _REVIEW_ACTIONS)})),
           EXISTS (SELECT 1 FROM loancenter_auditentry
                    WHERE loan_id = %(loan)s AND actor_id = %(user)s AND action IN ({", ".join(f"'{a}'" for a in _APPROVAL_ACTIONS)})),
           EXISTS (SELECT 1 FROM disbursement_collateralregistration WHERE loan_id = %(loan)s AND clerk_id = %(user)s),
           EXISTS (SELECT 1 FROM disbursement_disbursement WHERE loan_id = %(loan)s AND disburser_id = %(user)s)
"""


def _role_facts(loan_id: int, user_id: int) -> tuple[bool, bool, bool, bool, bool]:
    (row,) = fetch_all(connection, _ROLE_FACTS_SQL, {"loan": loan_id, "user": user_id})
    return tuple(bool(value) for value in row)


# Asked for every action a loan page offers to a user with an ID number: a plain statement, like the role facts.
_GUARANTOR_SQL = """
    SELECT EXISTS (SELECT 1 FROM applications_guarantor g JOIN applications_customer c ON c.id = g.customer_id
                    WHERE g.loan_id = %s AND c.id_number = %s)
"""


def is_party_to_loan(loan, user) -> bool:
    """Staff loans: the borrower or a guarantor, matched by ID number, may do nothing on the loan."""
    id_number = (user.id_number or "").strip().upper()  # customers' numbers are stored upper-case
    if not id_number:
        return False
    if loan.customer.id_number == id_number:
        return True
    (row,) = fetch_all(connection, _GUARANTOR_SQL, [loan.pk, id_number])
    return bool(row[0])


def check_separation(loan, user, role: str | None) -> None:
    """Refuse (403 ``separation_of_duty``) when taking ``role`` on ``loan`` conflicts with a role already held."""
    if is_party_to_loan(loan, user):
        raise SeparationOfDuty(_("You are the borrower or a guarantor of this loan and may not act on it (SPEC §4)."))
    if role is None:
        return
    for held in roles_held(loan, user) - {role}:
        if frozenset((held, role)) in CONFLICTS:
            raise SeparationOfDuty(
                _("You are this loan's %(held)s and may not also act as its %(role)s (separation of duty).")
                % {"held": _role_label(held), "role": _role_label(role)}
            )


def sod_allows(loan, user, role: str | None) -> bool:
    try:
        check_separation(loan, user, role)
    except SeparationOfDuty:
        return False
    return True
