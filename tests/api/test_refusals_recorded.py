"""Every refusal is recorded with its loan (SPEC §10; issue 13 finding 14): the refusals of write-off and grade-change
decisions (recorded without their loan before), a loan outside the reader's scope (404, no record before), a wrong
post sending bad input (400 before, no record) and refusals outside the transitions (no record before)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from applications.models import Loan, Status
from loancenter.lib.dates import today
from loancenter.models import RefusedAttempt
from loancenter.services import staff_create
from postloan.grades import grade_change_propose
from postloan.models import GradeChange, WriteOff
from postloan.write_off import write_off_propose, write_off_review
from tests.api.conftest import snapshot

pytestmark = pytest.mark.django_db


def last_refusal() -> RefusedAttempt:
    return RefusedAttempt.objects.order_by("-id").first()


def refusals() -> int:
    return RefusedAttempt.objects.count()


@pytest.fixture
def active(flow, draft):
    return flow.advance(draft, Status.ACTIVE)


@pytest.fixture
def gen_rev(db):
    """Someone holding both the general and the reviewer post: may propose a write-off and review one."""
    return staff_create(username="genrev", posts=["general", "reviewer"], password="test-pass-123", full_name="genrev")


def proposal(loan, actor) -> WriteOff:
    return write_off_propose(loan_id=loan.pk, actor=actor, reason="借款人死亡,无遗产可供执行",
                             legal_documents=["death_certificate", "enforcement_terminated"])


@pytest.mark.sidedoor(rule="refusal", path="api: POST /api/write-offs/{id}/review/")
def test_a_refused_write_off_review_is_recorded_with_its_loan(api, active, gen_rev):
    write_off = proposal(active, gen_rev)
    before, count = snapshot(active), refusals()
    response = api(gen_rev).post(f"/api/write-offs/{write_off.pk}/review/", {"note": "自己审自己"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "separation_of_duty"
    write_off.refresh_from_db()
    assert write_off.status == WriteOff.PROPOSED and snapshot(active) == before
    assert refusals() == count + 1
    refusal = last_refusal()
    assert (refusal.action, refusal.loan_id_ref, refusal.code, refusal.actor) == (
        "write_off_review", active.pk, "separation_of_duty", gen_rev)


@pytest.mark.sidedoor(rule="refusal", path="api: POST /api/write-offs/{id}/approve/")
def test_a_refused_write_off_approval_is_recorded_with_its_loan(api, staff, active):
    write_off = proposal(active, staff.gen)
    write_off_review(write_off_id=write_off.pk, actor=staff.rev, note="材料齐全")
    response = api(staff.rev).post(f"/api/write-offs/{write_off.pk}/approve/", {}, format="json")
    assert response.status_code == 403  # a reviewer is neither manager nor approver
    write_off.refresh_from_db()
    assert write_off.status == WriteOff.REVIEWED
    assert (last_refusal().action, last_refusal().loan_id_ref) == ("write_off_approve", active.pk)


@pytest.mark.sidedoor(rule="refusal", path="api: POST /api/grade-changes/{id}/approve/")
def test_a_refused_grade_change_approval_is_recorded_with_its_loan(api, staff, active):
    grade_change_propose(loan_id=active.pk, actor=staff.rev, to_grade="substandard", reasons="借款人失业")
    upgrade = grade_change_propose(loan_id=active.pk, actor=staff.rev, to_grade="normal", reasons="已复工")
    assert upgrade.status == GradeChange.PENDING
    response = api(staff.rev).post(f"/api/grade-changes/{upgrade.pk}/approve/", {}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "separation_of_duty"
    upgrade.refresh_from_db()
    assert upgrade.status == GradeChange.PENDING
    assert Loan.objects.get(pk=active.pk).grade == "substandard"
    refusal = last_refusal()
    assert (refusal.action, refusal.loan_id_ref, refusal.code) == ("grade_change_approve", active.pk,
                                                                    "separation_of_duty")


@pytest.mark.sidedoor(rule="refusal", path="api: GET /api/loans/{id}/ (outside the scope)")
def test_a_loan_outside_the_scope_is_a_404_and_is_recorded(api, staff, draft):
    count = refusals()
    assert api(staff.mkt2).get(f"/api/loans/{draft.pk}/").status_code == 404
    assert refusals() == count + 1
    refusal = last_refusal()
    assert (refusal.action, refusal.loan_id_ref, refusal.code, refusal.actor) == ("view", draft.pk, "out_of_scope",
                                                                                  staff.mkt2)


@pytest.mark.sidedoor(rule="refusal", path="api: POST /api/loans/{id}/transitions/submit/ (outside the scope)")
def test_a_transition_outside_the_scope_is_a_404_and_is_recorded_under_its_name(api, staff, draft):
    before = snapshot(draft)
    assert api(staff.mkt2).post(f"/api/loans/{draft.pk}/transitions/submit/", {}, format="json").status_code == 404
    assert snapshot(draft) == before
    assert (last_refusal().action, last_refusal().loan_id_ref, last_refusal().code) == ("submit", draft.pk,
                                                                                        "out_of_scope")


def test_an_id_that_is_no_loan_records_nothing(api, staff):
    count = refusals()
    assert api(staff.mkt2).get("/api/loans/987654/").status_code == 404
    assert refusals() == count


@pytest.mark.sidedoor(rule="refusal", path="api: POST /api/loans/{id}/transitions/approve/ (wrong post, bad input)")
def test_a_wrong_post_with_bad_input_is_a_recorded_403(api, staff, flow, draft):
    loan = flow.advance(draft, Status.PENDING_APPROVAL)
    before, count = snapshot(loan), refusals()
    response = api(staff.gen).post(f"/api/loans/{loan.pk}/transitions/approve/", {"amount": "lots"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "post_required"
    assert snapshot(loan) == before
    assert refusals() == count + 1
    assert (last_refusal().action, last_refusal().loan_id_ref, last_refusal().code) == ("approve", loan.pk,
                                                                                        "post_required")


@pytest.mark.sidedoor(rule="refusal", path="api: POST /api/loans/{id}/repayments/ (rule refusal)")
def test_a_refused_repayment_is_recorded_with_its_loan(api, staff, active):
    count = refusals()
    response = api(staff.gen).post(f"/api/loans/{active.pk}/repayments/",
                                   {"amount": "99999999.00", "paid_on": today().isoformat(), "reference": "CB-OVER"},
                                   format="json")
    assert response.status_code == 400 and response.json()["code"] == "overpayment"
    assert refusals() == count + 1
    assert (last_refusal().action, last_refusal().loan_id_ref, last_refusal().code) == ("repayment", active.pk,
                                                                                        "overpayment")


@pytest.mark.sidedoor(rule="refusal", path="browser: POST /loans/{id}/notification/")
def test_a_refused_notification_is_recorded_with_its_loan(client, staff, flow, draft):
    loan = flow.advance(draft, Status.APPROVED)
    client.force_login(staff.mkt)
    count = refusals()
    response = client.post(f"/loans/{loan.pk}/notification/", {"notified_on": (today() + timedelta(days=3)).isoformat()})
    assert response.status_code in (200, 302, 400)
    assert Loan.objects.get(pk=loan.pk).customer_notified_on is None
    assert refusals() == count + 1
    assert (last_refusal().action, last_refusal().loan_id_ref, last_refusal().code) == ("customer_notified", loan.pk,
                                                                                        "notified_on")


@pytest.mark.sidedoor(rule="refusal", path="api: PATCH /api/customers/{id}/ (wrong post)")
def test_a_refused_customer_edit_is_recorded(api, staff, customer):
    count = refusals()
    response = api(staff.gen).patch(f"/api/customers/{customer.pk}/", {"address": "别处"}, format="json")
    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.address != "别处"
    assert refusals() == count + 1


@pytest.mark.parametrize("url", ["/dashboard/", "/reports/loans/", "/postloan/collections/"])
def test_a_page_that_refuses_the_post_records_it(client, staff, url):
    client.force_login(staff.inv)
    count = refusals()
    assert client.get(url).status_code == 403
    assert refusals() == count + 1
    assert last_refusal().actor == staff.inv


def test_an_account_without_a_post_is_refused_and_recorded(api, staff):
    count = refusals()
    response = api(staff.outsider).get("/api/loans/")
    assert response.status_code == 403 and response.json()["code"] == "post_required"
    assert refusals() == count + 1
    assert (last_refusal().actor, last_refusal().code) == (staff.outsider, "post_required")
