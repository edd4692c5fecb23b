"""Rule 31 (SPEC §10, §16.4): the approval records its reasons and the guarantee terms; a reason is required."""

from __future__ import annotations

from decimal import Decimal

import pytest

from applications.models import Status
from loancenter.models import AuditEntry, RefusedAttempt
from tests.api.conftest import drive, snapshot
from tests.conftest import payloads
from tests.factories import CustomerFactory, add_guarantor


@pytest.mark.sidedoor(rule="31", path="api: POST /api/loans/{id}/transitions/approve/ without a reason")
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_approval_without_a_reason_is_a_400_on_the_field(api, staff, draft, reason):
    loan = drive(staff, draft, Status.PENDING_APPROVAL)
    data = {k: v for k, v in payloads(staff, loan)["approve"].items() if k != "reason"}
    if reason is not None:
        data["reason"] = reason
    before = snapshot(loan)

    response = api(staff.appr).post(f"/api/loans/{loan.pk}/transitions/approve/", data, format="json")

    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "reason_required" and body["reason"] == [body["detail"]]
    assert snapshot(loan) == before
    assert RefusedAttempt.objects.filter(action="approve", loan_id_ref=loan.pk, code="reason_required").exists()


@pytest.mark.sidedoor(rule="31", path="browser: approve form without a reason")
def test_the_browser_approval_form_asks_for_the_reason(client, staff, draft):
    loan = drive(staff, draft, Status.PENDING_APPROVAL)
    client.force_login(staff.appr)
    data = {**payloads(staff, loan)["approve"], "reason": ""}

    response = client.post(f"/loans/{loan.pk}/do/approve/", data)

    assert response.status_code == 400
    [row] = [r for r in response.context["rows"] if r["name"] == "reason"]
    assert row["errors"] == ["State the reason."]
    loan.refresh_from_db()
    assert loan.status == Status.PENDING_APPROVAL


def test_the_approval_keeps_its_reason_and_the_reviewed_guarantee_by_default(api, staff, draft):
    guarantor = CustomerFactory(officer=staff.mkt, name="李娜")
    add_guarantor(draft, guarantor, "spouse")
    loan = drive(staff, draft, Status.APPROVED)

    body = api(staff.mkt).get(f"/api/loans/{loan.pk}/").json()

    assert body["decision_reason"] == "同意"
    assert body["approved_guarantee"] == {
        "guarantors": [{"customer": guarantor.pk, "name": "李娜", "relationship": "spouse"}], "collaterals": [],
        "conditions": "",
    }
    entry = AuditEntry.objects.get(action="approve", loan=loan)
    assert entry.reason == "同意" and entry.payload["guarantee_terms"] == body["approved_guarantee"]
    assert entry.payload["terms"]["penalty_markup"] == "0.5" and entry.payload["exposure"]["total"] == "100000.00"


def test_the_approver_states_guarantee_conditions(api, staff, draft):
    loan = drive(staff, draft, Status.PENDING_APPROVAL)
    data = {**payloads(staff, loan)["approve"], "guarantee_terms": "借款人配偶须到场签署共同还款承诺书"}

    response = api(staff.appr).post(f"/api/loans/{loan.pk}/transitions/approve/", data, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["approved_guarantee"]["conditions"] == "借款人配偶须到场签署共同还款承诺书"
    assert response.json()["exposure"] == "100000.00"
    assert response.json()["terms"]["amount"] == "100000.00"


def test_the_rejection_keeps_its_reason_and_exposure(api, staff, draft):
    loan = drive(staff, draft, Status.PENDING_APPROVAL)

    response = api(staff.appr).post(f"/api/loans/{loan.pk}/transitions/reject/", {"reason": "收入来源不稳定"},
                                    format="json")

    assert response.status_code == 200
    assert (response.json()["decision_reason"], response.json()["exposure"]) == ("收入来源不稳定", "100000.00")
    assert response.json()["terms"] is None
    assert Decimal(response.json()["amount"]) == Decimal("100000.00")
