"""The one generic transition page /loans/<id>/do/<name>/ over loancenter.transitions.REGISTRY."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from applications.models import Status
from loancenter.lib.dates import today
from loancenter.models import AuditEntry, RefusedAttempt
from loancenter.services import staff_set_posts
from loancenter.transitions import REGISTRY, perform
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db


def do(name, loan):
    return reverse("loan-transition", args=[loan.pk, name])


def test_submit_through_the_page_moves_the_loan(login, staff, draft):
    client = login(staff.mkt)
    assert client.get(do("submit", draft)).status_code == 200
    response = client.post(do("submit", draft))
    assert response.status_code == 302 and response["Location"] == reverse("loan-detail", args=[draft.pk])
    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED
    follow = client.get(response["Location"])
    assert "done" in follow.content.decode()


def test_refused_submit_shows_the_rule_and_changes_nothing(login, staff, product, customer):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, documents=["id_card"])
    audit_before = AuditEntry.objects.filter(loan=loan).count()
    response = login(staff.mkt).post(do("submit", loan))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="transition-error"' in html and "rule 5" in html
    loan.refresh_from_db()
    assert loan.status == Status.DRAFT
    assert AuditEntry.objects.filter(loan=loan).count() == audit_before
    assert RefusedAttempt.objects.filter(loan_id_ref=loan.pk, code="documents_missing").exists()


def test_wrong_post_gets_403_with_the_message(login, staff, flow, draft):
    flow.advance(draft, Status.UNDER_REVIEW)
    client = login(staff.gen)  # general sees every loan but may not review
    get = client.get(do("pass_review", draft))
    assert get.status_code == 403 and 'data-testid="transition-form"' not in get.content.decode()
    response = client.post(do("pass_review", draft), {"opinion": "x", "amount": "1000", "term_months": "12",
                                                      "annual_rate": "5", "repayment_method": "bullet"})
    assert response.status_code == 403
    assert "Reviewer" in response.content.decode() or "审查" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Status.UNDER_REVIEW


def test_wrong_state_gets_409(login, staff, flow, draft):
    flow.advance(draft, Status.SUBMITTED)
    response = login(staff.mkt).post(do("submit", draft))
    assert response.status_code == 409
    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED


def test_separation_of_duty_refusal_is_shown(login, staff, flow, draft):
    """The investigator who completed the report may not review it, even holding the reviewer post."""
    flow.advance(draft, Status.UNDER_REVIEW)
    staff_set_posts(user=staff.inv, posts=["investigator", "reviewer"], actor=staff.gen)
    staff.inv.forget_posts()
    response = login(staff.inv).post(do("pass_review", draft), {
        "opinion": "ok", "amount": "100000.00", "term_months": "36", "annual_rate": "5",
        "repayment_method": "equal_installment"})
    assert response.status_code == 403
    assert "separation of duty" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Status.UNDER_REVIEW


def test_complete_investigation_form_is_prefilled_and_renders_every_kind_of_field(login, staff, flow, draft):
    flow.advance(draft, Status.INVESTIGATING)
    response = login(staff.inv).get(do("complete_investigation", draft))
    assert response.status_code == 200
    html = response.content.decode()
    rows = {row["name"]: row for row in response.context["rows"]}
    assert rows["investigators"]["kind"] == "multiselect"
    assert [o[0] for o in rows["investigators"]["options"]] == ["inv", "inv2"]  # only investigators
    assert [o[0] for o in rows["investigators"]["options"] if o[2]] == ["inv"]  # the caller preselected
    assert rows["field_visit_on"]["kind"] == "date" and rows["field_visit_on"]["value"] == today().isoformat()
    assert rows["identity_verified"]["kind"] == "checkbox"
    assert rows["opinion"]["kind"] == "select"
    assert rows["recommended_amount"]["kind"] == "number" and rows["recommended_amount"]["value"] == "100000.00"
    assert rows["recommended_amount"]["attrs"]["step"] == "0.01"
    assert rows["comment"]["kind"] == "textarea"
    assert '<input type="date" name="field_visit_on"' in html
    assert '<select name="investigators" id="id_investigators" multiple>' in html


def test_complete_investigation_through_the_page(login, staff, flow, draft):
    flow.advance(draft, Status.INVESTIGATING)
    response = login(staff.inv).post(do("complete_investigation", draft), {
        "investigators": ["inv"], "field_visit_on": today().isoformat(), "identity_verified": "true",
        "income_verified": "true", "purpose_verified": "true", "opinion": "recommend",
        "recommended_amount": "90000.00", "recommended_term_months": "36", "comment": "情况属实",
    })
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Status.UNDER_REVIEW
    report = draft.investigations.get()
    assert report.recommended_amount == Decimal("90000.00") and report.guarantors_verified is False
    assert list(report.investigators.values_list("username", flat=True)) == ["inv"]


def test_bad_input_shows_field_errors_with_400(login, staff, flow, draft):
    flow.advance(draft, Status.INVESTIGATING)
    response = login(staff.inv).post(do("complete_investigation", draft), {
        "investigators": ["inv"], "opinion": "maybe", "recommended_amount": "abc",
    })
    assert response.status_code == 400
    rows = {row["name"]: row for row in response.context["rows"]}
    assert rows["opinion"]["errors"] and rows["recommended_amount"]["errors"]
    draft.refresh_from_db()
    assert draft.status == Status.INVESTIGATING


def test_unchecked_findings_are_refused_by_rule_6(login, staff, flow, draft):
    flow.advance(draft, Status.INVESTIGATING)
    response = login(staff.inv).post(do("complete_investigation", draft), {
        "investigators": ["inv"], "field_visit_on": today().isoformat(), "opinion": "recommend",
        "recommended_amount": "90000.00", "recommended_term_months": "36",
    })
    assert response.status_code == 400
    assert "rule 6" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Status.INVESTIGATING


def test_pass_review_prefills_from_the_recommendation_and_approve_from_the_proposal(login, staff, flow, draft):
    flow.advance(draft, Status.UNDER_REVIEW)
    rows = {r["name"]: r for r in login(staff.rev).get(do("pass_review", draft)).context["rows"]}
    assert rows["amount"]["value"] == "100000.00" and rows["term_months"]["value"] == "36"
    assert [o[0] for o in rows["repayment_method"]["options"] if o[2]] == ["equal_installment"]
    perform("pass_review", loan_id=draft.pk, actor=staff.rev, data={
        "opinion": "同意", "amount": "95000.00", "term_months": 30, "annual_rate": "0.0515",
        "repayment_method": "equal_principal"})
    draft.refresh_from_db()
    rows = {r["name"]: r for r in login(staff.appr).get(do("approve", draft)).context["rows"]}
    assert rows["amount"]["value"] == format(draft.proposed_amount, "f")
    assert rows["amount"]["value"] == "95000.00" and rows["term_months"]["value"] == "30"
    assert draft.proposed_rate == Decimal("0.0515")
    assert rows["annual_rate"]["value"] == "5.15"  # the page shows the percentage (issue 15 part 5)
    assert [o[0] for o in rows["repayment_method"]["options"] if o[2]] == ["equal_principal"]


def test_approve_above_the_limit_is_refused_and_escalate_works(login, staff, flow, product, customer):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, amount=Decimal("300000.00"))
    flow.advance(loan, Status.PENDING_APPROVAL)
    client = login(staff.appr)
    response = client.post(do("approve", loan), {"amount": "300000.00", "term_months": "36", "annual_rate": "4.35",
                                                 "repayment_method": "equal_installment", "reason": ""})
    assert response.status_code == 403 and "rule 11" in response.content.decode()
    loan.refresh_from_db()
    assert loan.status == Status.PENDING_APPROVAL
    assert client.post(do("escalate", loan), {"reason": "超出授权"}).status_code == 302
    loan.refresh_from_db()
    assert loan.status == Status.PENDING_BRANCH_APPROVAL


def test_reject_needs_a_reason(login, staff, flow, draft):
    flow.advance(draft, Status.PENDING_APPROVAL)
    response = login(staff.appr).post(do("reject", draft), {"reason": ""})
    assert response.status_code == 400
    draft.refresh_from_db()
    assert draft.status == Status.PENDING_APPROVAL


def test_every_registered_transition_has_a_page(login, staff, draft):
    """Later transitions registered by other apps appear without touching the browser code."""
    client = login(staff.gen)
    for name in REGISTRY:
        response = client.get(do(name, draft))
        assert response.status_code in (200, 403, 409), name
        assert response.status_code != 500


def test_loan_page_lists_exactly_my_available_actions(login, staff, flow, draft):
    flow.advance(draft, Status.PENDING_APPROVAL)
    html = login(staff.appr).get(reverse("loan-detail", args=[draft.pk])).content.decode()
    for name in ("approve", "reject", "return_to_review", "escalate"):
        assert f'data-action="{name}"' in html
    assert 'data-action="submit"' not in html and 'data-action="pass_review"' not in html


def test_a_later_registered_transition_gets_its_button_and_form(login, staff, flow, draft):
    """sign_contract is registered by the disbursement app; the browser renders and performs it generically."""
    flow.advance(draft, Status.APPROVED)
    client = login(staff.mkt)
    assert 'data-action="sign_contract"' in client.get(reverse("loan-detail", args=[draft.pk])).content.decode()
    response = client.get(do("sign_contract", draft))
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.context["rows"]}
    assert rows["contract_no"]["kind"] == "text"
    assert rows["signed_on"]["kind"] == "date" and rows["signed_on"]["value"] == today().isoformat()
    response = client.post(do("sign_contract", draft), {
        "contract_no": "HT-2025-0001", "signed_on": today().isoformat(), "signed_in_person": "true"})
    assert response.status_code == 302, response.context and response.context["error"]
    draft.refresh_from_db()
    assert draft.status == Status.CONTRACT_SIGNED
