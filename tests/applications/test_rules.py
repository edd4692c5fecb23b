"""Origination rules of SPEC §3 (1–6, 10, 12a, 12b): each broken once, the refusal names the rule and writes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from applications.catalog import DOCUMENTS, PURPOSES
from applications.models import Investigation, Loan, Status
from applications.rules import field_visit_required
from applications.services import ApplicationInput, loan_create
from loancenter.lib.dates import add_months, today
from loancenter.lib.errors import Forbidden, RuleViolation
from loancenter.models import AuditEntry
from tests.applications.support import assert_refused, call
from tests.factories import ProductFactory, SecuredProductFactory, add_collateral, add_files, id_number_for

D = Decimal


def born_years_ago(years: int, *, days: int = 0) -> str:
    return id_number_for(add_months(today(), -12 * years) + timedelta(days=days))


def refused_submit(ctx, loan, code: str, rule: str) -> RuleViolation:
    error = assert_refused(loan, RuleViolation, lambda: call("submit", loan, ctx.staff.mkt), code=code, status=400)
    assert f"(rule {rule})" in error.message, error.message
    return error


# --- Rule 1: full civil capacity -------------------------------------------------------------------------------


def test_borrower_under_18_from_the_id_number_is_refused(ctx):
    minor = ctx.customer(id_number=born_years_ago(18, days=1))  # 18 tomorrow
    error = refused_submit(ctx, ctx.loan(customer=minor), "civil_capacity", "1")
    assert "17 years old" in error.message


def test_borrower_turning_18_today_may_apply(ctx):
    adult = ctx.customer(id_number=born_years_ago(18))
    loan = call("submit", ctx.loan(customer=adult), ctx.staff.mkt)
    assert loan.status == Status.SUBMITTED


@pytest.mark.parametrize("capacity", ["limited", "none"])
def test_borrower_without_full_civil_capacity_is_refused(ctx, capacity):
    loan = ctx.loan(customer=ctx.customer(civil_capacity=capacity))
    refused_submit(ctx, loan, "civil_capacity", "1")


@pytest.mark.parametrize("who", ["minor", "limited", "none"])
def test_guarantor_without_full_civil_capacity_is_refused(ctx, who):
    guarantor = (ctx.customer(id_number=born_years_ago(16)) if who == "minor"
                 else ctx.customer(civil_capacity=who))
    error = refused_submit(ctx, ctx.loan(guarantor=guarantor), "civil_capacity", "1")
    assert "Guarantor" in error.message


def test_borrower_capacity_verified_as_limited_is_refused_at_approval(ctx):
    # Rule 23: approval reads the capacity the investigation verified and the loan keeps (the customer row is frozen
    # after submit; a change of capacity goes back to marketing and through the investigation again).
    loan = ctx.advance(ctx.loan(), Status.PENDING_APPROVAL)
    Loan.objects.filter(pk=loan.pk).update(verified_civil_capacity="limited")
    error = assert_refused(loan, RuleViolation, lambda: call("approve", loan, ctx.staff.appr), code="civil_capacity")
    assert "(rule 1)" in error.message


def test_borrower_capacity_cannot_be_edited_after_submit(ctx):
    from applications.services import customer_update
    from loancenter.lib.errors import Conflict

    loan = ctx.advance(ctx.loan(), Status.PENDING_APPROVAL)
    with pytest.raises(Conflict) as refused:
        customer_update(actor=loan.marketing_officer, customer_id=loan.customer_id, data={"civil_capacity": "limited"})
    assert refused.value.code == "verified_fact"
    loan.customer.refresh_from_db()
    assert loan.customer.civil_capacity == "full"


# --- Rule 2: credit warning list -------------------------------------------------------------------------------


def test_borrower_on_the_warning_list_is_refused(ctx):
    loan = ctx.loan(customer=ctx.customer(on_warning_list=True))
    refused_submit(ctx, loan, "warning_list", "2")


def test_guarantor_on_the_warning_list_is_refused(ctx):
    error = refused_submit(ctx, ctx.loan(guarantor=ctx.customer(on_warning_list=True)), "warning_list", "2")
    assert "Guarantor" in error.message


def test_borrower_put_on_the_warning_list_during_review_is_refused_at_pass_review(ctx):
    from applications.services import customer_set_warning

    loan = ctx.advance(ctx.loan(), Status.UNDER_REVIEW)
    customer_set_warning(actor=ctx.staff.rev, customer=loan.customer, on_warning_list=True, reason="逾期")
    error = assert_refused(loan, RuleViolation, lambda: call("pass_review", loan, ctx.staff.rev), code="warning_list")
    assert "(rule 2)" in error.message


# --- Rule 3: age at maturity -----------------------------------------------------------------------------------


def test_borrower_too_old_at_maturity_is_refused(ctx):
    loan = ctx.loan(customer=ctx.customer(id_number=born_years_ago(63)), term_months=36)  # 66 at maturity
    error = refused_submit(ctx, loan, "age_at_maturity", "3")
    assert "66" in error.message and "65" in error.message


def test_borrower_exactly_at_the_age_limit_at_maturity_may_apply(ctx):
    loan = ctx.loan(customer=ctx.customer(id_number=born_years_ago(62)), term_months=36)  # 65 at maturity
    assert call("submit", loan, ctx.staff.mkt).status == Status.SUBMITTED


def test_longer_approved_term_that_breaks_the_age_limit_is_refused(ctx):
    loan = ctx.advance(ctx.loan(customer=ctx.customer(id_number=born_years_ago(62)), term_months=36),
                       Status.PENDING_APPROVAL)
    error = assert_refused(loan, RuleViolation, lambda: call("approve", loan, ctx.staff.appr, term_months=48),
                           code="age_at_maturity")
    assert "(rule 3)" in error.message


# --- Rule 4: the product's bounds, purposes (at entry, where bad input writes nothing) -------------------------


@pytest.fixture
def enter(ctx):
    """Enter an application through loan_create; a refusal must write nothing."""

    def enter(product=None, **overrides):
        data = ApplicationInput(customer=ctx.customer(), product=product or ctx.product, amount=D("100000.00"),
                                term_months=36, repayment_method="equal_installment", purpose="home_renovation",
                                interviewed_on=today(), credit_authorised=True, documents=["id_card", "income_proof"])
        for key, value in overrides.items():
            setattr(data, key, value)
        loan = loan_create(actor=ctx.staff.mkt, data=data)
        add_files(loan, data.documents)  # rule 5 reads files (SPEC §16.9)
        return loan

    return enter


def refused_entry(enter, error=RuleViolation, **overrides):
    loans, audits = Loan.objects.count(), AuditEntry.objects.count()
    with pytest.raises(error) as exc:
        enter(**overrides)
    assert (Loan.objects.count(), AuditEntry.objects.count()) == (loans, audits)
    return exc.value


def test_valid_application_is_entered_as_a_draft_of_its_officer(ctx, enter):
    loan = enter()
    assert (loan.status, loan.marketing_officer, loan.amount) == (Status.DRAFT, ctx.staff.mkt, D("100000.00"))
    assert loan.application_no.startswith("GD")
    assert sorted(loan.documents.values_list("code", flat=True)) == ["id_card", "income_proof"]


@pytest.mark.parametrize("amount", [D("0"), D("-100.00")])
def test_zero_or_negative_amount_is_refused(enter, amount):
    error = refused_entry(enter, amount=amount)
    assert (error.code, error.field) == ("amount", "amount")


@pytest.mark.parametrize("amount", [D("999.99"), D("500000.01")])
def test_amount_outside_the_product_is_refused(enter, amount):
    error = refused_entry(enter, amount=amount)
    assert error.code == "amount_out_of_range"
    assert "(rule 4)" in error.message and "500,000.00" in error.message


def test_amount_with_more_than_two_decimals_is_refused(enter):
    error = refused_entry(enter, ValidationError, amount=D("1000.123"))
    assert "amount" in error.message_dict


@pytest.mark.parametrize("term", [5, 61])
def test_term_outside_the_product_is_refused(enter, term):
    error = refused_entry(enter, term_months=term)
    assert (error.code, error.field) == ("term_out_of_range", "term_months")
    assert "(rule 4)" in error.message


@pytest.mark.parametrize("method", ["bullet", "balloon"])
def test_repayment_method_not_offered_is_refused(enter, method):
    product = ProductFactory(code="eionly", repayment_methods=["equal_installment"])
    error = refused_entry(enter, product=product, repayment_method=method)
    assert error.code == "repayment_method"
    assert "(rule 4)" in error.message


def test_inactive_product_is_refused(enter):
    error = refused_entry(enter, product=ProductFactory(code="old", active=False))
    assert error.code == "product_inactive"


@pytest.mark.parametrize("purpose", ["securities", "futures", "derivatives", "gambling", "property_down_payment"])
def test_prohibited_purpose_is_refused_for_a_consumer_loan(enter, purpose):
    error = refused_entry(enter, purpose=purpose)
    assert error.code == "prohibited_purpose"
    assert str(PURPOSES[purpose]) in error.message and "(rule 4)" in error.message


@pytest.mark.parametrize("purpose", ["securities", "futures", "derivatives", "gambling"])
def test_prohibited_purpose_is_refused_whatever_the_product(enter, purpose):
    housing = SecuredProductFactory(code="housing", allowed_purposes=["house_purchase", purpose])
    assert refused_entry(enter, product=housing, purpose=purpose).code == "prohibited_purpose"


def test_property_down_payment_is_allowed_for_a_housing_product_that_lists_it(enter):
    housing = SecuredProductFactory(code="housing", allowed_purposes=["house_purchase", "property_down_payment"])
    assert enter(product=housing, purpose="property_down_payment").purpose == "property_down_payment"


def test_purpose_not_among_the_products_allowed_purposes_is_refused(enter):
    education = ProductFactory(code="edu", allowed_purposes=["education"])
    error = refused_entry(enter, product=education, purpose="travel")
    assert error.code == "purpose" and "(rule 4)" in error.message
    assert enter(product=education, purpose="education").purpose == "education"


def test_unknown_purpose_is_refused(enter):
    assert refused_entry(enter, purpose="yacht").code == "purpose"


def test_over_long_purpose_detail_is_refused(enter):
    error = refused_entry(enter, ValidationError, purpose_detail="装" * 201)
    assert "purpose_detail" in error.message_dict


def test_future_interview_date_is_refused(enter):
    assert refused_entry(enter, interviewed_on=today() + timedelta(days=1)).code == "interview"


def test_borrower_as_own_guarantor_is_refused(ctx, enter):
    customer = ctx.customer()
    error = refused_entry(enter, customer=customer, guarantors=[(customer, "spouse")])
    assert "(rule 10)" in error.message


def test_purpose_the_product_stopped_allowing_is_refused_at_submit(ctx):
    loan = ctx.loan(purpose="travel")
    ctx.product.allowed_purposes = ["education"]
    ctx.product.save()
    refused_submit(ctx, loan, "purpose", "4")


# --- Rule 5: documents -----------------------------------------------------------------------------------------


def test_submit_with_a_missing_document_names_it(ctx):
    loan = ctx.loan(documents=["id_card"])
    error = refused_submit(ctx, loan, "documents_missing", "5")
    assert str(DOCUMENTS["income_proof"]) in error.message
    assert str(DOCUMENTS["id_card"]) not in error.message


# --- Rule 6: investigation -------------------------------------------------------------------------------------


def investigating(ctx, **loan_kwargs):
    return ctx.advance(ctx.loan(**loan_kwargs), Status.INVESTIGATING)


def refused_report(ctx, loan, code, **report):
    error = assert_refused(loan, RuleViolation, lambda: call("complete_investigation", loan, ctx.staff.inv, **report),
                           code=code)
    assert "(rule 6)" in error.message, error.message
    return error


def test_dual_investigation_needs_two_distinct_investigators(ctx):
    loan = investigating(ctx, product=ProductFactory(code="dual", dual_investigation=True))
    refused_report(ctx, loan, "dual_investigation", investigators=[ctx.staff.inv])
    refused_report(ctx, loan, "dual_investigation", investigators=[ctx.staff.inv, ctx.staff.inv])
    call("complete_investigation", loan, ctx.staff.inv, investigators=[ctx.staff.inv, ctx.staff.inv2])
    loan.refresh_from_db()
    assert loan.status == Status.INVESTIGATING  # rule 26: until the second investigator co-signs
    assert set(loan.investigations.get().investigators.all()) == {ctx.staff.inv, ctx.staff.inv2}
    call("cosign_investigation", loan, ctx.staff.inv2)
    loan.refresh_from_db()
    assert loan.status == Status.UNDER_REVIEW


def test_co_investigator_must_hold_the_investigator_post(ctx):
    loan = investigating(ctx, product=ProductFactory(code="dual", dual_investigation=True))
    error = assert_refused(loan, Forbidden, lambda: call("complete_investigation", loan, ctx.staff.inv,
                                                         investigators=[ctx.staff.inv, ctx.staff.rev]))
    assert error.code == "post_required"


def test_reporting_investigator_must_be_on_the_report(ctx):
    loan = investigating(ctx)
    assert_refused(loan, RuleViolation, lambda: call("complete_investigation", loan, ctx.staff.inv,
                                                     investigators=[ctx.staff.inv2]), code="investigators")


def test_business_loan_always_requires_a_field_visit(ctx):
    business = ProductFactory(code="biz", category="business", investigation_rate=D("0"),
                              allowed_purposes=[])
    loan = investigating(ctx, product=business, purpose="business_operation")
    assert loan.investigations.get().field_visit_required is True
    error = refused_report(ctx, loan, "field_visit", field_visit_on=None)
    assert error.field == "field_visit_on"


def test_consumer_loan_with_zero_sampling_rate_needs_no_field_visit(ctx):
    loan = investigating(ctx, product=ProductFactory(code="nosample", investigation_rate=D("0")))
    assert loan.investigations.get().field_visit_required is False
    call("complete_investigation", loan, ctx.staff.inv, field_visit_on=None)
    loan.refresh_from_db()
    assert loan.status == Status.UNDER_REVIEW


def test_field_visit_draw_is_the_same_every_time_for_one_application(ctx):
    product = ProductFactory(code="sampled", investigation_rate=D("0.5"))
    loan = investigating(ctx, product=product)
    first = loan.investigations.get().field_visit_required
    assert all(field_visit_required(loan) is first for _ in range(5))
    # Returned to marketing and investigated again: the same application draws the same answer.
    call("complete_investigation", loan, ctx.staff.inv, field_visit_on=today())
    call("return_to_marketing", loan, ctx.staff.rev, reason="补充材料")
    ctx.advance(loan, Status.INVESTIGATING)
    assert [i.field_visit_required for i in Investigation.objects.filter(loan=loan)] == [first, first]


def test_field_visit_draw_over_many_applications_is_near_the_rate():
    product = ProductFactory.build(category="consumer", investigation_rate=D("0.3"))
    draws = [field_visit_required(Loan(pk=pk, product=product)) for pk in range(1, 4001)]
    assert 0.27 < sum(draws) / len(draws) < 0.33
    assert draws == [field_visit_required(Loan(pk=pk, product=product)) for pk in range(1, 4001)]


@pytest.mark.parametrize("unverified", ["identity_verified", "income_verified", "purpose_verified"])
def test_recommendation_without_verified_findings_is_refused(ctx, unverified):
    loan = investigating(ctx)
    error = refused_report(ctx, loan, "investigation_incomplete", **{unverified: False})
    assert unverified.removesuffix("_verified") in error.message


def test_recommendation_must_verify_guarantors_and_collateral_when_there_are_some(ctx):
    loan = investigating(ctx, guarantor=ctx.customer())
    error = refused_report(ctx, loan, "investigation_incomplete", guarantors_verified=False)
    assert "guarantors" in error.message


def test_recommendation_states_amount_and_term(ctx):
    loan = investigating(ctx)
    refused_report(ctx, loan, "investigation_incomplete", recommended_amount=None)


def test_decline_without_reasons_is_refused(ctx):
    loan = investigating(ctx)
    refused_report(ctx, loan, "investigation_incomplete", opinion="decline", comment="  ")
    call("complete_investigation", loan, ctx.staff.inv, opinion="decline", comment="收入无法核实")
    assert loan.investigations.get().opinion == "decline"


def test_recommended_amount_outside_the_product_is_refused(ctx):
    loan = investigating(ctx)
    error = assert_refused(loan, RuleViolation, lambda: call("complete_investigation", loan, ctx.staff.inv,
                                                             recommended_amount=D("600000.00")),
                           code="amount_out_of_range")
    assert error.field == "recommended_amount"


def test_future_field_visit_date_is_refused(ctx):
    loan = investigating(ctx)
    assert_refused(loan, RuleViolation, lambda: call("complete_investigation", loan, ctx.staff.inv,
                                                     field_visit_on=today() + timedelta(days=1)),
                   code="field_visit")


# --- Rule 10: guarantors ---------------------------------------------------------------------------------------


def test_guarantor_without_income_is_refused(ctx):
    error = refused_submit(ctx, ctx.loan(guarantor=ctx.customer(monthly_income=D("0.00"))), "guarantor", "10")
    assert "no income" in error.message


def test_eligible_guarantor_passes(ctx):
    assert call("submit", ctx.loan(guarantor=ctx.customer()), ctx.staff.mkt).status == Status.SUBMITTED


# --- Rule 12a: interview and credit-report authorisation -------------------------------------------------------


def test_submit_without_interview_is_refused(ctx):
    refused_submit(ctx, ctx.loan(interviewed_on=None), "interview", "12a")


def test_submit_without_credit_authorisation_is_refused(ctx):
    refused_submit(ctx, ctx.loan(credit_authorised=False), "credit_authorisation", "12a")


def test_investigation_cannot_start_without_credit_authorisation(ctx):
    loan = ctx.advance(ctx.loan(), Status.SUBMITTED)
    Loan.objects.filter(pk=loan.pk).update(credit_authorised=False)  # e.g. the authorisation was withdrawn
    error = assert_refused(loan, RuleViolation, lambda: call("start_investigation", loan, ctx.staff.inv),
                           code="credit_authorisation")
    assert "(rule 12a)" in error.message


# --- Rule 12b: term caps by category ---------------------------------------------------------------------------


def test_consumer_loan_over_60_months_is_refused_even_if_the_product_allows_it(enter):
    product = ProductFactory(code="longconsumer", max_term_months=84)
    error = refused_entry(enter, product=product, term_months=72)
    assert error.code == "term_cap" and "(rule 12b)" in error.message


@pytest.fixture
def business():
    return ProductFactory(code="biz", category="business", max_term_months=120, investigation_rate=D("1"))


def test_business_loan_over_60_months_without_a_reason_is_refused(enter, business):
    error = refused_entry(enter, product=business, term_months=84, purpose="business_operation")
    assert (error.code, error.field) == ("term_cap", "long_term_reason")
    assert "(rule 12b)" in error.message


def test_business_loan_over_60_months_with_a_reason_is_allowed_up_to_120(ctx, enter, business):
    loan = enter(product=business, term_months=120, purpose="business_operation", long_term_reason="设备回收期长")
    assert call("submit", loan, ctx.staff.mkt).status == Status.SUBMITTED


def test_business_loan_over_120_months_is_refused_even_with_a_reason(enter):
    product = ProductFactory(code="biz180", category="business", max_term_months=180)
    error = refused_entry(enter, product=product, term_months=121, purpose="business_operation",
                          long_term_reason="设备回收期长")
    assert error.code == "term_cap" and "(rule 12b)" in error.message


def test_housing_term_follows_the_product(ctx, enter):
    housing = SecuredProductFactory(code="housing")
    loan = enter(product=housing, term_months=360, purpose="house_purchase",
                 documents=list(housing.required_documents),
                 collaterals=[{"kind": "property", "description": "东城区某小区", "owner_name": "张伟",
                               "certificate_no": "京(2025)0001", "appraised_value": D("1000000.00"),
                               "appraised_on": today(), "disposer_consent": True}])
    assert loan.term_months == 360
    assert refused_entry(enter, product=housing, term_months=361).code == "term_out_of_range"


def test_secured_loan_with_valid_collateral_can_be_submitted(ctx):
    housing = SecuredProductFactory(code="housing")
    loan = ctx.loan(product=housing, purpose="house_purchase")
    add_collateral(loan)
    assert call("submit", loan, ctx.staff.mkt).status == Status.SUBMITTED
