"""Rule 30 through the API: ``/api/staff-requests/`` files grants, another manager approves or rejects them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from applications.models import Status
from loancenter.models import AuditEntry, RefusedAttempt, StaffRequest, User
from loancenter.services import staff_create
from tests.api.conftest import drive
from tests.conftest import PASSWORD, payloads
from tests.factories import CustomerFactory, LoanFactory, ProductFactory

URL = "/api/staff-requests/"


def powers(user: User) -> tuple:
    user = User.objects.get(pk=user.pk)
    return (frozenset(user.posts), user.approval_limit, user.is_active)


def last_refusal() -> RefusedAttempt:
    return RefusedAttempt.objects.latest("id")


@pytest.fixture
def boss2(staff):
    return staff_create(username="boss2", posts=["manager"], password=PASSWORD, full_name="boss2")


@pytest.mark.sidedoor(rule="30", path="api: POST /api/staff-requests/ (about oneself)")
def test_finding_9_general_cannot_grant_themselves_approver_through_the_api(api, staff):
    product = ProductFactory(code="big", max_amount=Decimal("1000000.00"))
    customer = CustomerFactory(officer=staff.mkt, monthly_income=Decimal("100000.00"))
    loan = drive(staff, LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt,
                                    amount=Decimal("900000.00")), Status.PENDING_APPROVAL)
    before, audits = powers(staff.gen), AuditEntry.objects.count()

    response = api(staff.gen).post(URL, {"user": "gen", "add_posts": ["approver"], "approval_limit": "999999999.00"},
                                   format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "separation_of_duty"
    assert powers(staff.gen) == before == (frozenset({"general"}), None, True)
    assert not StaffRequest.objects.exists() and AuditEntry.objects.count() == audits
    assert (last_refusal().code, last_refusal().actor, last_refusal().action) == (
        "separation_of_duty", staff.gen, "staff_request_file")
    # The 900,000 loan still needs the branch.
    approve = f"/api/loans/{loan.pk}/transitions/approve/"
    assert api(staff.gen).post(approve, payloads(staff, loan)["approve"], format="json").json()["code"] == "post_required"
    assert api(staff.appr).post(approve, payloads(staff, loan)["approve"], format="json").json()["code"] == "authority_limit"
    loan.refresh_from_db()
    assert loan.status == Status.PENDING_APPROVAL


@pytest.mark.sidedoor(rule="30", path="api: POST /api/staff-requests/{id}/approve/ (the filer)")
def test_a_grant_filed_by_general_is_approved_by_a_manager_and_not_by_the_filer(api, staff):
    created = api(staff.gen).post(URL, {"user": "rev", "add_posts": ["approver"], "approval_limit": "300000",
                                        "reason": "轮岗"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert (body["user"], body["state"], body["add_posts"], body["approval_limit"], body["filed_by"], body["via"]) == (
        "rev", "pending", ["approver"], "300000.00", "gen", "api")
    assert powers(staff.rev) == (frozenset({"reviewer"}), None, True)

    by_filer = api(staff.gen).post(f"{URL}{body['id']}/approve/", {}, format="json")
    assert by_filer.status_code == 403 and by_filer.json()["code"] == "post_required"  # general never decides
    assert powers(staff.rev) == (frozenset({"reviewer"}), None, True)
    assert last_refusal().code == "post_required"

    approved = api(staff.boss).post(f"{URL}{body['id']}/approve/", {"note": "同意"}, format="json")

    assert approved.status_code == 200
    assert approved.json()["state"] == "approved" and approved.json()["decided_by"] == "boss"
    assert powers(staff.rev) == (frozenset({"reviewer", "approver"}), Decimal("300000.00"), True)

    again = api(staff.boss).post(f"{URL}{body['id']}/approve/", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"
    assert last_refusal().code == "invalid_state"


@pytest.mark.sidedoor(rule="30", path="api: POST /api/staff-requests/{id}/approve/ (manager filer and subject)")
def test_a_manager_neither_approves_what_they_filed_nor_a_grant_for_themselves(api, staff, boss2):
    filed = api(staff.boss).post(URL, {"user": "arch", "add_posts": ["reviewer"]}, format="json").json()
    own = api(staff.boss).post(f"{URL}{filed['id']}/approve/", {}, format="json")
    assert own.status_code == 403 and own.json()["code"] == "separation_of_duty"
    assert powers(staff.arch)[0] == {"archivist"}

    for_boss2 = api(staff.gen).post(URL, {"user": "boss2", "add_posts": ["approver"],
                                          "approval_limit": "999999999"}, format="json").json()
    self_approve = api(boss2).post(f"{URL}{for_boss2['id']}/approve/", {}, format="json")
    assert self_approve.status_code == 403 and self_approve.json()["code"] == "separation_of_duty"
    assert powers(boss2) == (frozenset({"manager"}), None, True)
    assert RefusedAttempt.objects.filter(code="separation_of_duty").count() == 2

    assert api(boss2).post(f"{URL}{filed['id']}/approve/", {}, format="json").status_code == 200
    assert powers(staff.arch)[0] == {"archivist", "reviewer"}


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"user": "clerk", "add_posts": ["approver"]}, 400, "post_conflict"),
    ({"user": "rev", "add_posts": ["janitor"]}, 400, "invalid"),
    ({"user": "nobody", "add_posts": ["reviewer"]}, 400, "invalid"),
    ({"user": "rev", "approval_limit": "1e30"}, 400, "invalid"),
    ({"user": "rev", "approval_limit": "-5"}, 400, "invalid"),
    ({"user": "appr", "approval_limit": "1000"}, 400, "not_a_grant"),
    ({"user": "rev", "add_posts": ["reviewer"]}, 400, "not_a_grant"),
    ({"user": "rev"}, 400, "no_change"),
])
def test_a_bad_request_is_a_400_with_a_code_and_recorded(api, staff, body, status, code):
    response = api(staff.gen).post(URL, body, format="json")

    assert response.status_code == status
    assert response.json()["code"] == code
    assert not StaffRequest.objects.exists()
    assert last_refusal().code == code and last_refusal().actor == staff.gen


def test_a_wrong_post_gets_403_whatever_it_sends(api, staff):
    response = api(staff.mkt).post(URL, {"user": 12, "add_posts": "x"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "post_required"
    assert api(staff.mkt).get(URL).status_code == 403
    assert api(staff.gen).post(f"{URL}999999/approve/", {}, format="json").json()["code"] == "post_required"
    assert api(staff.boss).post(f"{URL}999999/approve/", {}, format="json").status_code == 404
    assert RefusedAttempt.objects.filter(code="post_required").count() == 3


def test_a_rejection_needs_a_note(api, staff):
    filed = api(staff.gen).post(URL, {"user": "rev", "add_posts": ["approver"]}, format="json").json()

    missing = api(staff.boss).post(f"{URL}{filed['id']}/reject/", {}, format="json")
    assert missing.status_code == 400 and missing.json()["code"] == "note_required"

    rejected = api(staff.boss).post(f"{URL}{filed['id']}/reject/", {"note": "不需要"}, format="json")
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    assert powers(staff.rev)[0] == {"reviewer"}


def test_the_list_filters_by_state_and_person(api, staff):
    first = api(staff.gen).post(URL, {"user": "rev", "add_posts": ["approver"]}, format="json").json()
    api(staff.gen).post(URL, {"user": "arch", "add_posts": ["investigator"]}, format="json")
    api(staff.boss).post(f"{URL}{first['id']}/reject/", {"note": "不需要"}, format="json")

    pending = api(staff.boss).get(URL, {"state": "pending"}).json()
    assert [r["user"] for r in pending] == ["arch"]
    assert [r["state"] for r in api(staff.gen).get(URL, {"user": "rev"}).json()] == ["rejected"]
    assert api(staff.gen).get(f"{URL}{first['id']}/").json()["decision_note"] == "不需要"
