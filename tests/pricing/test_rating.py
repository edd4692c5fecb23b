"""The risk rating computed when the investigation completes (SPEC §15, §16.30): from the verified facts (rule 23) and
the latest pre-loan credit report, kept on the loan with its scorecard version and reasons."""

from __future__ import annotations

from decimal import Decimal

import pytest

from applications.models import Loan, ScorecardVersion, Status
from loancenter.transitions import perform
from postloan.bureau import credit_query_record
from tests.api.conftest import drive
from tests.factories import CustomerFactory, LoanFactory, add_authorisation


def _applicant(staff, product, **facts):
    customer = CustomerFactory(officer=staff.mkt, employment_years=Decimal("6"), residence="own", **facts)
    return LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)


def test_the_investigation_rates_the_loan_and_the_api_shows_it(api, staff, product):
    loan = drive(staff, _applicant(staff, product), Status.UNDER_REVIEW)

    body = api(staff.rev).get(f"/api/loans/{loan.pk}/").json()

    card = ScorecardVersion.objects.get(category="consumer", status="active")
    assert body["rating"] in {"A", "B", "C", "D", "E"} and isinstance(body["score"], int)
    assert body["scorecard_version"] == {"id": card.pk, "category": "consumer", "number": 1}
    assert 1 <= len(body["rating_reasons"]) <= 3
    assert all(r["points"] < r["max_points"] and r["text"] for r in body["rating_reasons"])
    # The reasons are the factors that cost the most points, the most costly first.
    lost = [r["max_points"] - r["points"] for r in body["rating_reasons"]]
    assert lost == sorted(lost, reverse=True)


def test_the_same_verified_facts_give_the_same_rating(staff, product):
    first = drive(staff, _applicant(staff, product), Status.UNDER_REVIEW)
    second = drive(staff, _applicant(staff, product), Status.UNDER_REVIEW)

    assert (first.score, first.rating, first.rating_reasons) == (second.score, second.rating, second.rating_reasons)


def test_the_rating_changes_when_the_verified_facts_do(staff, product):
    strong = drive(staff, _applicant(staff, product), Status.UNDER_REVIEW)
    weak = _applicant(staff, product)
    drive(staff, weak, Status.INVESTIGATING)
    data = {"investigators": [staff.inv.username], "identity_verified": True, "income_verified": True,
            "purpose_verified": True, "guarantors_verified": True, "collateral_verified": True,
            "field_visit_on": str(weak.interviewed_on), "opinion": "recommend", "recommended_amount": "100000.00",
            "recommended_term_months": 36, "verified_monthly_income": "4000.00", "verified_monthly_debt": "1500.00"}
    perform("complete_investigation", loan_id=weak.pk, actor=staff.inv, data=data)
    weak.refresh_from_db()

    assert weak.score < strong.score
    assert {r["factor"] for r in weak.rating_reasons} & {"monthly_income", "dti"}
    assert weak.rating_facts["monthly_income"] == "4000.00"


def test_the_credit_report_counts_and_no_report_scores_on_its_own(staff, product):
    clean = _applicant(staff, product)
    credit_query_record(customer_id=clean.customer_id, actor=staff.mkt, purpose="pre_loan",
                        authorisation_document=add_authorisation(clean.customer, by=staff.mkt).pk,
                        overdue_count_24m=0, worst_dpd=0, queries_6m=1)
    troubled = _applicant(staff, product)
    credit_query_record(customer_id=troubled.customer_id, actor=staff.mkt, purpose="pre_loan",
                        authorisation_document=add_authorisation(troubled.customer, by=staff.mkt).pk,
                        overdue_count_24m=5, worst_dpd=95, queries_6m=9)
    unknown = _applicant(staff, product)
    for loan in (clean, troubled, unknown):
        drive(staff, loan, Status.UNDER_REVIEW)

    assert clean.score > unknown.score > troubled.score
    assert unknown.rating_facts["worst_dpd"] is None
    # Worst DPD over 90 costs all 70 points, five overdue months 55, nine queries 30.
    assert [r["factor"] for r in troubled.rating_reasons] == ["worst_dpd", "overdue_count_24m", "queries_6m"]


def test_a_loan_returned_to_marketing_loses_its_rating_and_is_rated_again(staff, product):
    loan = drive(staff, _applicant(staff, product), Status.UNDER_REVIEW)
    rated = (loan.score, loan.rating)
    perform("return_to_marketing", loan_id=loan.pk, actor=staff.rev, data={"reason": "收入证明需补充"})
    loan.refresh_from_db()
    assert (loan.score, loan.rating, loan.rating_reasons, loan.scorecard_version_id) == (None, "", [], None)

    drive(staff, loan, Status.UNDER_REVIEW)

    assert (loan.score, loan.rating) == rated


def test_a_two_person_investigation_rates_at_the_cosignature(staff):
    from tests.factories import ProductFactory

    product = ProductFactory(code="dual", dual_investigation=True)
    loan = _applicant(staff, product)
    drive(staff, loan, Status.UNDER_REVIEW)

    assert loan.rating and Loan.objects.get(pk=loan.pk).scorecard_version.category == "consumer"


@pytest.mark.parametrize("category", ["consumer", "business", "housing", "auto"])
def test_a_fresh_database_has_a_card_in_use_per_category(db, category):
    assert ScorecardVersion.objects.filter(category=category, status="active").count() == 1
