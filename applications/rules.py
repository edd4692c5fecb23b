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

from django.db.models import BooleanField, Exists, ExpressionWrapper, Q
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
from loancenter.lib.errors import Conflict, Forbidden, RuleViolation, SeparationOfDuty
from loancenter.lib.identifiers import normalise_id_number
from loancenter.lib.money import ZERO, fmt_pct, fmt_rate

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
            % {"rate": fmt_rate(annual_rate), "min": fmt_rate(product.min_rate), "max": fmt_rate(product.max_rate)},
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


def purposes_allowed(product) -> list[str]:
    """The purposes an application for ``product`` may state, in the catalogue's order: those ``check_purpose``
    accepts (the application form offers only these; a prohibited purpose is never one of them)."""
    allowed = []
    for code in PURPOSES:
        try:
            check_purpose(product, code)
        except RuleViolation:
            continue
        allowed.append(code)
    return allowed


def check_documents(product, received: Iterable[str]) -> None:
    """Rule 5: every document the product requires has a file (SPEC §11, §16.9: ``received`` are the codes with a live
    uploaded file, of the loan or of the borrower's folder)."""
    missing = [code for code in product.required_documents if code not in set(received)]
    if missing:
        names = "、".join(str(DOCUMENTS.get(code, code)) for code in missing)
        raise RuleViolation("documents_missing", _("Required documents missing: %(names)s (rule 5).")
                            % {"names": names})


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


def dti_ratio(customer, *, installment: Decimal, other_installments: Decimal = ZERO) -> Decimal | None:
    """Rule 8's figure: (declared monthly debt + other loans' installments + new installment) / monthly income;
    ``None`` when no income is recorded. The check below and the application form's calculator both read it here."""
    if not customer.monthly_income or customer.monthly_income <= 0:
        return None
    return (customer.monthly_debt_payment + other_installments + installment) / customer.monthly_income


def ltv_ratio(amount: Decimal, appraised_values: Iterable[Decimal]) -> Decimal | None:
    """Rule 9's figure: amount / the collaterals' total appraised value; ``None`` without an appraised value."""
    total = sum((Decimal(v) for v in appraised_values if v is not None), Decimal("0"))
    if total <= 0:
        return None
    return Decimal(amount) / total


def check_ltv(product, amount: Decimal, appraised_values: Iterable[Decimal]) -> None:
    """Rule 9: loan-to-value ≤ the product's max_ltv (secured products)."""
    ltv = ltv_ratio(amount, appraised_values)
    if ltv is not None and product.max_ltv is not None and ltv > product.max_ltv:
        raise RuleViolation(
            "ltv_exceeded",
            _("Loan-to-value %(ltv)s exceeds the product limit %(max)s (rule 9).")
            % {"ltv": fmt_pct(ltv), "max": fmt_pct(product.max_ltv)},
        )


def check_dti(customer, product, *, installment: Decimal, other_installments: Decimal = ZERO) -> None:
    """Rule 8: (existing monthly debt + new installment) / monthly income ≤ the product's max_dti.

    The existing debt is the declared one plus the monthly installments of the borrower's other live loans in this
    system (``other_installments``, rule 27).
    """
    dti = dti_ratio(customer, installment=installment, other_installments=other_installments)
    if dti is None:
        raise RuleViolation("dti", _("The borrower has no monthly income recorded; debt-to-income cannot be assessed (rule 8)."))
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
    check_ltv(product, amount, [c.appraised_value for c in collaterals])




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


def check_credit_queries(loan, investigation, query_ids) -> None:
    """SPEC §12: the report links the credit-bureau queries it relied on — queries of the register on the borrower or
    one of the loan's guarantors; any other id is refused, named (400 ``credit_query_unknown``). The register's model
    is reached through the investigation's relation (it belongs to postloan, above this app)."""
    people = {loan.customer_id, *loan.guarantors.values_list("customer_id", flat=True)}
    known = set(investigation.credit_queries.model.objects.filter(pk__in=query_ids, customer_id__in=people)
                .values_list("pk", flat=True))
    unknown = [q for q in query_ids if q not in known]
    if unknown:
        raise RuleViolation("credit_query_unknown", _("No credit-bureau query %(ids)s on the borrower or a guarantor of "
                                                      "this loan.") % {"ids": ", ".join(map(str, unknown))},
                            field="credit_queries")


def check_investigation_report(loan, report: dict, *, field_visit: bool) -> None:
    """Rule 6: the report states identity, income, purpose, guarantor and collateral findings and a clear opinion."""
    investigators = report["investigators"]
    if loan.product.dual_investigation and (len(investigators) != 2 or len({u.pk for u in investigators}) != 2):
        raise RuleViolation(
            "dual_investigation",
            _("This product requires two different investigators on the report: you and one second investigator, "
              "who co-signs it with their own login (rule 6)."),
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
# Rule 26: a two-person investigation is done by two logins
#
# The round's ``assignee`` files the report; on a two-person product it names the second investigator (``cosigner``),
# and the report waits (``reported_at`` set, ``completed_at`` not) until that person co-signs it with their own login.
# The first two functions are the django_fsm conditions of ``Loan.complete_investigation`` and
# ``Loan.cosign_investigation``; they read the loan's current round (``Loan.current_investigation``).


def report_not_filed(loan) -> bool:
    """``complete_investigation``: the round's report is not already waiting for the co-signature."""
    investigation = loan.current_investigation
    return investigation is None or not investigation.awaits_cosignature


def report_awaits_cosignature(loan) -> bool:
    """``cosign_investigation``: the first investigator's report waits for the second's co-signature."""
    investigation = loan.current_investigation
    return investigation is not None and investigation.awaits_cosignature


def report_filed_refusal(loan) -> str:
    return _("The investigation report waits for the co-signature of %(name)s (rule 26).") % {
        "name": loan.current_investigation.cosigner.display}


def no_report_to_cosign_refusal(loan) -> str:
    return _("No investigation report is waiting for a co-signature (rule 26).")


def check_investigation_assignee(loan, user) -> None:
    """Only the investigator the round is assigned to (who started it, or took it over) files its report."""
    investigation = loan.current_investigation
    if investigation is not None and investigation.assignee_id != user.pk:
        raise Forbidden(
            "not_assigned",
            _("This investigation is assigned to %(name)s; only they may file its report (rule 26).")
            % {"name": investigation.assignee.display},
        )


def check_cosigner(loan, user) -> None:
    """Only the second investigator the report names co-signs it."""
    investigation = loan.current_investigation
    if investigation is not None and investigation.awaits_cosignature and investigation.cosigner_id != user.pk:
        raise Forbidden(
            "not_assigned",
            _("The report names %(name)s as the second investigator; only they may co-sign it (rule 26).")
            % {"name": investigation.cosigner.display},
        )


def check_cosigner_available(person, *, now) -> None:
    """The second investigator can log in to co-sign: an active account. Lock-out is per username and client address
    (SPEC §10), so no account is locked as such: a lock somebody else caused from elsewhere must not keep a
    colleague off a report, and the co-signature itself is the proof that they logged in."""
    if not person.is_active:
        raise RuleViolation(
            "cosigner_unavailable",
            _("%(name)s's account is not active and cannot co-sign; name an active investigator (rule 26).")
            % {"name": person.username},
            field="investigators",
        )


def check_cosignature(*, agree: bool, comment: str) -> None:
    """A disagreeing co-signature says why: the comment goes back to the first investigator."""
    if not agree and not (comment or "").strip():
        raise RuleViolation(
            "comment_required",
            _("Say why you disagree: the comment goes back to the first investigator (rule 26)."),
            field="comment",
        )


# ---------------------------------------------------------------------------------------------------------------
# Separation of duty (SPEC §4 and the additions of §10)

MARKETING = "marketing"
INVESTIGATOR = "investigator"
REVIEWER = "reviewer"
APPROVER = "approver"
ESCALATOR = "escalator"  # the approver who sent the loan to the branch
BRANCH_APPROVER = "branch_approver"  # whoever decides it at branch level
REGISTRAR = "collateral_registrar"
RECEIPT_PREPARER = "receipt_preparer"  # the reviewer who prepared the receipt or applied the disbursement stamp
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
        # SPEC §10, SoD additions: the escalating approver does not decide at branch level; the receipt's
        # preparer (the disbursement stamp) does not release the funds.
        (ESCALATOR, BRANCH_APPROVER),
        (RECEIPT_PREPARER, DISBURSER),
    ]
)


def _role_label(role: str) -> str:
    labels = {
        MARKETING: _("marketing officer"),
        INVESTIGATOR: _("investigator"),
        REVIEWER: _("reviewer"),
        APPROVER: _("approver"),
        ESCALATOR: _("approver who escalated it"),
        BRANCH_APPROVER: _("branch-level decision maker"),
        REGISTRAR: _("collateral registrar"),
        RECEIPT_PREPARER: _("reviewer who prepared the loan receipt"),
        DISBURSER: _("disbursement officer"),
    }
    return str(labels[role])


_REVIEW_ACTIONS = ("pass_review", "return_to_marketing")
_APPROVAL_ACTIONS = ("approve", "reject", "return_to_review", "escalate")
_BRANCH_DECISIONS = ("approve", "reject")

# Which fact of ``role_facts`` makes its holder which role (the loan's own columns are read in ``roles_held``).
_FACT_ROLES = {
    "investigated": INVESTIGATOR, "reviewed": REVIEWER, "decided": APPROVER, "escalated": ESCALATOR,
    "decided_at_branch": BRANCH_APPROVER, "registered": REGISTRAR, "prepared_receipt": RECEIPT_PREPARER,
    "disbursed": DISBURSER,
}


def role_facts(loan, user) -> dict[str, bool]:
    """What ``user`` has done on ``loan``, and whether they borrow or guarantee it: one query of EXISTS subqueries.

    Asked by every separation-of-duty check; ``available_transitions`` asks it once for all of a loan's buttons. A
    loan returned to marketing or to review is reviewed or decided again by someone else, which overwrites
    ``reviewer``/``approver``; the audit trail keeps who reviewed or decided it before, so they keep that role.
    Everything is reached from the loan (its related managers, its one-to-one rows by their relation names), so
    this module imports no model.
    """
    audit = loan.audit_entries.filter(actor=user)
    facts = {
        # Assigned to, named on (first or second) or co-signing any investigation round.
        "investigated": Exists(loan.investigations.filter(Q(assignee=user) | Q(investigators=user) | Q(cosigner=user)))
        | Exists(audit.filter(action="cosign_investigation")),
        "reviewed": Exists(audit.filter(action__in=_REVIEW_ACTIONS)),
        "decided": Exists(audit.filter(action__in=_APPROVAL_ACTIONS)),
        "escalated": Exists(audit.filter(action="escalate")),
        "decided_at_branch": Exists(audit.filter(action__in=_BRANCH_DECISIONS, from_status="pending_branch_approval")),
        # The collateral registration, the receipt and the disbursement are one row each per loan.
        "registered": Q(collateral_registration__clerk=user),
        "prepared_receipt": Q(receipt__prepared_by=user) | Q(receipt__stamped_by=user),
        "disbursed": Q(disbursement__disburser=user),
    }
    id_number = _staff_id_number(user)
    if id_number:  # staff loans: matched by ID number (customers' numbers are stored upper-case)
        facts["party"] = Q(customer__id_number=id_number) | Exists(loan.guarantors.filter(customer__id_number=id_number))
    row = (type(loan)._default_manager.filter(pk=loan.pk)
           .annotate(**{name: ExpressionWrapper(fact, output_field=BooleanField()) for name, fact in facts.items()})
           .values_list(*facts).first())
    return {name: bool(value) for name, value in zip(facts, row or (False,) * len(facts), strict=True)}


def _staff_id_number(user) -> str:
    return normalise_id_number(user.id_number or "")  # stored normalised (rule 25); a stale instance may not be


def _roles_from(loan, user, facts: dict[str, bool]) -> set[str]:
    held = {role for name, role in _FACT_ROLES.items() if facts.get(name)}
    if loan.marketing_officer_id == user.pk:
        held.add(MARKETING)
    if loan.reviewer_id == user.pk:
        held.add(REVIEWER)
    if user.pk == loan.approver_id:
        held.add(APPROVER)
    if user.pk == loan.escalated_by_id:
        held |= {APPROVER, ESCALATOR}
    return held


def roles_held(loan, user, facts: dict[str, bool] | None = None) -> set[str]:
    """The roles ``user`` already holds on ``loan``: the loan's own columns (marketing officer, reviewer, approver,
    escalating approver) and ``facts`` (:func:`role_facts`, one query, asked here when not given)."""
    if facts is None:
        facts = role_facts(loan, user) if loan.pk and user.pk else {}
    return _roles_from(loan, user, facts)


def is_party_to_loan(loan, user) -> bool:
    """Staff loans: the borrower or a guarantor, matched by ID number, may do nothing on the loan (one query)."""
    if not _staff_id_number(user) or not loan.pk:
        return False
    return role_facts(loan, user).get("party", False)


def check_separation(loan, user, role: str | tuple[str, ...] | None, *, facts: dict[str, bool] | None = None) -> None:
    """Refuse (403 ``separation_of_duty``) when taking ``role`` (or each of several roles a step takes at once) on
    ``loan`` conflicts with a role ``user`` already holds there. One query (:func:`role_facts`), none when the caller
    already asked it for this loan and user (``facts``)."""
    if facts is None:
        facts = role_facts(loan, user) if loan.pk and user.pk else {}
    if facts.get("party"):
        raise SeparationOfDuty(_("You are the borrower or a guarantor of this loan and may not act on it (SPEC §4)."))
    taking = (role,) if isinstance(role, str) else tuple(role or ())
    if not taking:
        return
    held = _roles_from(loan, user, facts) - set(taking)
    for new in taking:
        for old in sorted(held):
            if frozenset((old, new)) in CONFLICTS:
                raise SeparationOfDuty(
                    _("You are this loan's %(held)s and may not also act as its %(role)s (separation of duty).")
                    % {"held": _role_label(old), "role": _role_label(new)}
                )


def sod_allows(loan, user, role: str | tuple[str, ...] | None, *, facts: dict[str, bool] | None = None) -> bool:
    try:
        check_separation(loan, user, role, facts=facts)
    except SeparationOfDuty:
        return False
    return True
