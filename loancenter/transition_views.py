"""The generic transition page: one form per entry of ``loancenter.transitions.REGISTRY`` (SPEC §2).

Wiring: it runs every app's transitions through the registry, so it sits with the registry above the apps. The form
is drawn from the entry's input serializer (``applications.input_forms``) and posted to ``transitions.perform`` —
the same call the API makes (``loancenter.transition_apis``).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as InputError

from applications.input_forms import describe, post_data
from applications.models import Investigation
from applications.pricing.services import grid_row, reason_text
from applications.selectors import BEFORE_DECISION, access_loan, customer_exposure, other_installments
from applications.workflow import STEPS, available_transitions, check_actor
from loancenter import posts as P
from loancenter import transitions
from loancenter.lib.dates import today
from loancenter.lib.errors import DomainError
from review.selectors import decision_aids

_REPORT_FIELDS = ("field_visit_on", "identity_verified", "income_verified", "purpose_verified", "guarantors_verified",
                  "collateral_verified", "opinion", "recommended_amount", "recommended_term_months", "comment")


def _initial_for(name: str, loan, user) -> dict:
    """Sensible defaults: the figures the previous step arrived at, the caller as investigator, today's dates."""
    values = _defaults_for(name, loan, user)
    if name in ("pass_review", "approve") and loan.lpr_linked:  # SPEC §16.31: the spread decides; the rate follows
        values.update(annual_rate=None, spread_bp=loan.proposed_spread_bp)
    return values


def _defaults_for(name: str, loan, user) -> dict:
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
    if name not in STEPS:  # the registry holds every step the loan declares
        raise Http404
    loan = access_loan(request.user, pk)
    step = STEPS[name]
    form = transitions.input_for(name)
    error, status, values, field_errors, error_code = None, 200, {}, {}, None
    if request.method == "POST":
        values = post_data(form, request.POST)
        try:
            transitions.perform(name, loan_id=loan.pk, actor=request.user, data=values)
        except InputError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            field_errors = {k: v if isinstance(v, list) else [v] for k, v in detail.items()}
            error, status = _("Please correct the fields marked below."), 400
        except DomainError as exc:
            error, status, error_code = exc.message, exc.status, exc.code
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
            error, status, error_code = exc.message, exc.status, exc.code
        for field_name, field in form.fields.items():  # dates still to come default to today
            if isinstance(field, serializers.DateField) and field.required and field_name not in values:
                values[field_name] = today()
    rows = describe(form, values, field_errors)
    if name == "complete_investigation":
        _offer_credit_queries(rows, loan, values.get("credit_queries") or [])
    extra = [str(e) for key, errs in field_errors.items() if key not in form.fields for e in errs]
    facts = _decision_facts(name, loan, request.user)
    # Rule 11: where the limit refuses the approval (or the loan is over it), the way on is to escalate it.
    limit_hit = error_code == "authority_limit" or bool(facts and facts["aids"]["over_limit"])
    can_escalate = name != "escalate" and limit_hit and "escalate" in available_transitions(loan, request.user)
    return render(request, "applications/transition.html", {
        "loan": loan, "step": step, "rows": rows, "error": error, "extra_errors": extra,
        "blocked": request.method == "GET" and error is not None, "facts": facts, "can_escalate": can_escalate,
    }, status=status)


def _offer_credit_queries(rows: list[dict], loan, chosen) -> None:
    """The investigation report links the credit-bureau queries it relied on (SPEC §12): the register's queries on the
    borrower and the guarantors are offered."""
    from postloan.monitoring_models import CreditQuery

    people = [loan.customer_id, *loan.guarantors.values_list("customer_id", flat=True)]
    chosen = {str(c) for c in chosen}
    options = [(str(q.pk), f"{q.queried_at:%Y-%m-%d} · {q.customer.name} · {q.get_purpose_display()}", str(q.pk) in chosen)
               for q in CreditQuery.objects.filter(customer_id__in=people).select_related("customer")]
    for row in rows:
        if row["name"] == "credit_queries":
            row.update(kind="multiselect", options=options)


# The reviewer's and the approver's decisions: their forms show what the rules measure (rules 8, 11, 23, 27).
_DECISIONS = {"pass_review", "return_to_marketing", "approve", "reject", "return_to_review", "escalate"}


def rating_shown(loan) -> dict | None:
    if not loan.rating:
        return None
    row = grid_row(loan.product, loan.rating)
    return {"score": loan.score, "rating": loan.rating, "version": loan.scorecard_version,
            "reasons": [reason_text(r) for r in loan.rating_reasons or []], "row": row}


def _decision_facts(name: str, loan, user) -> dict | None:
    if name not in _DECISIONS or loan.status not in BEFORE_DECISION:
        return None
    terms = _initial_for("approve", loan, user)  # the terms on the table: as reviewed (or requested)
    return {"verified": loan.verified_at is not None, "other_installments": other_installments(loan),
            "exposure": customer_exposure(loan),
            "limit": user.approval_limit if user.has_any_post(P.APPROVER, P.BRANCH_APPROVER) else None,
            # SPEC §15: the risk rating beside the decision, with its reasons and the product's row of the rate grid.
            "rating": rating_shown(loan),
            "aids": decision_aids(loan, user, amount=terms["amount"], term_months=terms["term_months"],
                                  annual_rate=terms["annual_rate"], method=terms["repayment_method"],
                                  spread_bp=terms.get("spread_bp"))}
