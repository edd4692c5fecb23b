"""Loans through the API: entering an application, reading it back, correcting a draft, scope, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from applications.models import Collateral, Guarantor, Loan, LoanDocument, Status
from loancenter.lib.dates import today
from loancenter.models import AuditEntry
from tests.api.conftest import drive
from tests.factories import CustomerFactory, LoanFactory, SecuredProductFactory


@pytest.fixture
def guarantor(staff):
    return CustomerFactory(officer=staff.mkt, name="李娜")


def loan_payload(borrower, offered, **overrides) -> dict:
    return {
        "customer": borrower.pk, "product": offered.code, "amount": "120000.00", "term_months": 36,
        "repayment_method": "equal_installment", "purpose": "home_renovation", "purpose_detail": "两居室装修",
        "interviewed_on": (today() - timedelta(days=1)).isoformat(), "credit_authorised": True,
        "guarantors": [], "collaterals": [], "documents": ["id_card", "income_proof"], **overrides,
    }


def written() -> tuple[int, ...]:
    return (Loan.objects.count(), Guarantor.objects.count(), Collateral.objects.count(),
            LoanDocument.objects.count(), AuditEntry.objects.count())


def test_marketing_enters_an_application_with_guarantors_collateral_and_documents(api, staff, customer, guarantor):
    product = SecuredProductFactory(code="house")
    payload = loan_payload(
        customer, product, amount="500000.00", term_months=240,
        guarantors=[{"customer": guarantor.pk, "relationship": "spouse"}],
        collaterals=[{"kind": "property", "description": "朝阳区某小区3号楼502", "owner_name": customer.name,
                      "certificate_no": "京(2025)朝阳区不动产权第0012345号", "appraised_value": "1200000.00",
                      "appraised_on": (today() - timedelta(days=20)).isoformat(), "disposer_consent": True}],
        documents=["id_card", "income_proof", "property_certificate"], purpose="house_purchase",
    )
    response = api(staff.mkt).post("/api/loans/", payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft"
    assert body["marketing_officer"] == "mkt"
    assert (body["customer"], body["product"], body["amount"], body["term_months"]) == (customer.pk, "house", "500000.00", 240)
    row = Loan.objects.get(pk=body["id"]).guarantors.get()
    assert body["guarantors"] == [{"id": row.pk, "customer": guarantor.pk, "customer_name": "李娜", "relationship": "spouse"}]
    assert body["collaterals"][0]["appraised_value"] == "1200000.00"
    assert body["collaterals"][0]["disposer_consent"] is True
    assert sorted(body["documents"]) == ["id_card", "income_proof", "property_certificate"]
    assert set(body["available_transitions"]) == {"submit", "withdraw"}
    loan = Loan.objects.get(pk=body["id"])
    assert loan.marketing_officer == staff.mkt
    assert loan.audit_entries.filter(action="create").count() == 1


def test_loan_detail_carries_status_servicing_figures_and_my_transitions(api, staff, draft):
    body = api(staff.mkt).get(f"/api/loans/{draft.pk}/").json()
    assert body["status"] == "draft"
    assert body["days_past_due"] == 0
    assert body["collection_tier"] is None
    assert body["grade"] is None
    assert body["outstanding_principal"] == "0.00"
    assert set(body["available_transitions"]) == {"submit", "withdraw"}
    assert api(staff.boss).get(f"/api/loans/{draft.pk}/").json()["available_transitions"] == ["withdraw"]


def test_an_approved_loan_shows_the_decided_terms_and_the_approvers_transitions(api, staff, flow, draft):
    flow.advance(draft, Status.PENDING_APPROVAL)
    assert set(api(staff.appr).get(f"/api/loans/{draft.pk}/").json()["available_transitions"]) == {
        "approve", "reject", "return_to_review", "escalate"}
    assert api(staff.rev).get(f"/api/loans/{draft.pk}/").json()["available_transitions"] == []
    drive(staff, draft, Status.APPROVED)
    body = api(staff.mkt).get(f"/api/loans/{draft.pk}/").json()
    assert body["status"] == "approved"
    assert body["approved_amount"] == "100000.00"
    assert body["annual_rate"] == "0.0435"
    assert body["approver"] == "appr" and body["reviewer"] == "rev"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-100.00"}, "amount"),
        ({"amount": "1000.005"}, "amount"),
        ({"amount": "600000.00"}, "amount"),  # above the product's maximum 500,000
        ({"amount": "500.00"}, "amount"),  # below its minimum
        ({"amount": "abc"}, "amount"),
        ({"term_months": 3}, "term_months"),  # product range 6–60
        ({"term_months": 72}, "term_months"),
        ({"term_months": 0}, "term_months"),
        ({"product": "no-such-product"}, "product"),
        ({"repayment_method": "weekly"}, "repayment_method"),
        ({"purpose": "gambling"}, "purpose"),  # a prohibited purpose (rule 4)
        ({"purpose": "lottery"}, "purpose"),
        ({"purpose_detail": "装" * 201}, "purpose_detail"),
        ({"documents": ["selfie"]}, "documents"),
        ({"customer": 999999}, "customer"),
        ({"interviewed_on": "2099-01-01"}, "interviewed_on"),
        ({"guarantors": [{"customer": 999999, "relationship": "spouse"}]}, "guarantors"),
        ({"guarantors": [{"customer": "self", "relationship": "friend"}]}, "guarantors"),
        ({"collaterals": [{"kind": "property", "description": "x", "owner_name": "y", "appraised_value": "0",
                           "appraised_on": "2026-01-01"}]}, "collaterals"),
    ],
)
def test_bad_application_input_is_refused_with_a_field_error_and_writes_nothing(api, staff, product, customer,
                                                                              overrides, field):
    if overrides.get("guarantors") and overrides["guarantors"][0]["customer"] == "self":
        overrides = {"guarantors": [{"customer": customer.pk, "relationship": "friend"}]}
    before = written()
    response = api(staff.mkt).post("/api/loans/", loan_payload(customer, product, **overrides), format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json(), response.json()
    assert written() == before


def test_a_customer_of_another_officer_cannot_be_used(api, staff, product):
    theirs = CustomerFactory(officer=staff.mkt2)
    response = api(staff.mkt).post("/api/loans/", loan_payload(theirs, product), format="json")
    assert response.status_code == 400
    assert "customer" in response.json()
    assert not Loan.objects.exists()


@pytest.mark.parametrize("who", ["inv", "rev", "appr", "gen", "boss"])
def test_only_marketing_enters_applications(api, staff, product, customer, who):
    response = api(getattr(staff, who)).post("/api/loans/", loan_payload(customer, product), format="json")
    assert response.status_code in (400, 403)  # 400 when the customer is outside their scope
    if response.status_code == 403:
        assert response.json()["code"] == "post_required"
    assert not Loan.objects.exists()


def test_the_officer_corrects_a_draft_and_the_other_fields_stay(api, staff, draft, guarantor):
    response = api(staff.mkt).patch(
        f"/api/loans/{draft.pk}/",
        {"amount": "80000.00", "guarantors": [{"customer": guarantor.pk, "relationship": "friend"}]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    draft.refresh_from_db()
    assert str(draft.amount) == "80000.00"
    assert draft.term_months == 36 and draft.purpose == "home_renovation"
    assert sorted(draft.documents.values_list("code", flat=True)) == ["id_card", "income_proof"]
    assert list(draft.guarantors.values_list("customer_id", "relationship")) == [(guarantor.pk, "friend")]
    assert draft.audit_entries.filter(action="update").count() == 1


def test_a_submitted_loan_cannot_be_edited(api, staff, flow, draft):
    flow.advance(draft, Status.SUBMITTED)
    response = api(staff.mkt).patch(f"/api/loans/{draft.pk}/", {"amount": "80000.00"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")
    draft.refresh_from_db()
    assert str(draft.amount) == "100000.00"


def test_a_bad_correction_changes_nothing(api, staff, draft):
    before = written()
    response = api(staff.mkt).patch(f"/api/loans/{draft.pk}/", {"amount": "999999999.00"}, format="json")
    assert response.status_code == 400
    draft.refresh_from_db()
    assert str(draft.amount) == "100000.00"
    assert written() == before


def test_another_marketing_officer_gets_404_on_the_loan_everywhere(api, staff, draft):
    client = api(staff.mkt2)
    assert client.get(f"/api/loans/{draft.pk}/").status_code == 404
    assert client.get(f"/api/loans/{draft.pk}/audit/").status_code == 404
    assert client.patch(f"/api/loans/{draft.pk}/", {"amount": "1.00"}, format="json").status_code == 404
    assert client.post(f"/api/loans/{draft.pk}/transitions/submit/", {}, format="json").status_code == 404
    assert client.get("/api/loans/").json()["count"] == 0
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_the_list_is_scoped_paginated_and_does_not_grow_queries_with_rows(api, staff, product, customer,
                                                                         django_assert_max_num_queries):
    for _ in range(30):
        LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
    LoanFactory(customer=CustomerFactory(officer=staff.mkt2), product=product, marketing_officer=staff.mkt2)
    client = api(staff.mkt)
    with django_assert_max_num_queries(8):
        body = client.get("/api/loans/").json()
    assert body["count"] == 30
    assert {row["marketing_officer"] for row in body["results"]} == {"mkt"}
    assert body["results"][0]["customer_name"] == customer.name
    assert api(staff.gen).get("/api/loans/").json()["count"] == 31
    assert api(staff.inv).get("/api/loans/").json()["count"] == 0  # drafts are not in the investigator's step


def test_the_audit_trail_lists_every_step_with_actor_usernames(api, staff, flow, draft):
    flow.advance(draft, Status.UNDER_REVIEW)
    api(staff.rev).post(f"/api/loans/{draft.pk}/transitions/return_to_marketing/", {"reason": "收入证明不清晰"},
                        format="json")
    rows = api(staff.mkt).get(f"/api/loans/{draft.pk}/audit/").json()
    assert [(r["action"], r["actor"], r["from_status"], r["to_status"]) for r in rows] == [
        ("submit", "mkt", "draft", "submitted"),
        ("start_investigation", "inv", "submitted", "investigating"),
        ("complete_investigation", "inv", "investigating", "under_review"),
        ("return_to_marketing", "rev", "under_review", "draft"),
    ]
    assert rows[-1]["reason"] == "收入证明不清晰"
    assert rows[-1]["payload"] == {"reason": "收入证明不清晰"}
    assert rows[2]["payload"]["investigators"] == ["inv"]
    assert all(r["at"] for r in rows)
