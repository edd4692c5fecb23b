"""Compliant collection (合规催收, SPEC §3): every rule refused with a clear message, and a refusal writes nothing."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from applications.models import Status
from loancenter.lib.errors import DomainError, Forbidden
from loancenter.models import AuditEntry
from postloan.collections import agency_save, collection_action_log, collection_queue, escalation_task_done
from postloan.models import CollectionAction, CollectionAgency, CollectionCase, EscalationTask
from tests.factories import CustomerFactory, LoanFactory, add_guarantor

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2025, 3, 20)


def local(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SH)


@pytest.fixture
def loan(staff, flow, draft):
    add_guarantor(draft, CustomerFactory(officer=staff.mkt, phone="13900000009"))
    with time_machine.travel(local(10, day=date(2025, 1, 15)), tick=False):
        return flow.advance(draft, Status.ACTIVE)


@pytest.fixture
def t1_case(staff, loan):
    return CollectionCase.objects.create(loan=loan, opened_on=DAY, tier="T1", owner_post="marketing", owner=staff.mkt)


@pytest.fixture
def late_evening():
    with time_machine.travel(local(23, 30), tick=False):
        yield


def log(case, actor, **kw):
    data = {"channel": "phone", "contacted_at": local(10), "target": "borrower", "phone": case.loan.customer.phone,
            "answered": True, "result": "承诺月底还款"}
    data.update(kw)
    return collection_action_log(case_id=case.pk, actor=actor, **data)


def assert_refused(code: str, fn, *args, **kwargs) -> DomainError:
    actions, audits = CollectionAction.objects.count(), AuditEntry.objects.count()
    with pytest.raises(DomainError) as caught:
        fn(*args, **kwargs)
    assert caught.value.code == code, caught.value.message
    assert CollectionAction.objects.count() == actions
    assert AuditEntry.objects.count() == audits
    return caught.value


@pytest.mark.parametrize("hour, minute", [(8, 0), (12, 0), (21, 59)])
def test_contact_between_8_and_22_is_logged(staff, t1_case, late_evening, hour, minute):
    action = log(t1_case, staff.mkt, contacted_at=local(hour, minute), promise_date=date(2025, 3, 31),
                 promise_amount=Decimal("3000.00"))
    assert action.contact_day == DAY
    assert action.promise_amount == Decimal("3000.00")
    assert AuditEntry.objects.filter(action="collection_action", loan=t1_case.loan).count() == 1


@pytest.mark.parametrize("hour, minute", [(22, 0), (23, 15), (0, 30), (7, 59)])
def test_no_contact_between_22_and_8(staff, t1_case, late_evening, hour, minute):
    error = assert_refused("contact_hours", log, t1_case, staff.mkt, contacted_at=local(hour, minute))
    assert "22:00" in error.message and "08:00" in error.message


def test_contact_hours_are_local_time_even_when_given_in_utc(staff, t1_case, late_evening):
    utc_noon_is_20_local = datetime(2025, 3, 20, 12, 0, tzinfo=ZoneInfo("UTC"))
    log(t1_case, staff.mkt, contacted_at=utc_noon_is_20_local)
    utc_15_is_23_local = datetime(2025, 3, 20, 15, 0, tzinfo=ZoneInfo("UTC"))
    assert_refused("contact_hours", log, t1_case, staff.mkt, contacted_at=utc_15_is_23_local)


def test_at_most_six_unanswered_calls_a_day_to_one_number(staff, t1_case, late_evening):
    for n in range(6):
        log(t1_case, staff.mkt, contacted_at=local(9 + n), answered=False, result="无人接听")
    error = assert_refused("too_many_calls", log, t1_case, staff.mkt, contacted_at=local(16), answered=False)
    assert "6" in error.message
    # A text message is not a call, and the next day the count starts again.
    log(t1_case, staff.mkt, channel="sms", contacted_at=local(17), result="短信提醒")
    with time_machine.travel(local(12, day=date(2025, 3, 21)), tick=False):
        log(t1_case, staff.mkt, contacted_at=local(9, day=date(2025, 3, 21)), answered=False)


def test_answered_calls_do_not_count_towards_the_limit(staff, t1_case, late_evening):
    for n in range(5):
        log(t1_case, staff.mkt, contacted_at=local(9 + n), answered=False)
    for n in range(3):
        log(t1_case, staff.mkt, contacted_at=local(14, n), answered=True)
    log(t1_case, staff.mkt, contacted_at=local(15), answered=False)  # the 6th unanswered one is still allowed
    assert CollectionAction.objects.filter(answered=False).count() == 6


def test_guarantor_on_their_own_number_may_be_contacted(staff, t1_case, late_evening):
    guarantor = t1_case.loan.guarantors.get()
    action = log(t1_case, staff.mkt, target="guarantor", guarantor=guarantor, phone="13900000009")
    assert action.guarantor == guarantor


def test_unrelated_third_party_is_refused(staff, t1_case, late_evening):
    stranger = "13700000001"
    error = assert_refused("third_party", log, t1_case, staff.mkt, phone=stranger)
    assert "third parties" in error.message
    guarantor = t1_case.loan.guarantors.get()
    assert_refused("third_party", log, t1_case, staff.mkt, target="guarantor", guarantor=guarantor, phone=stranger)
    other_loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=t1_case.loan.product,
                             marketing_officer=staff.mkt)
    other_loans_guarantor = add_guarantor(other_loan, CustomerFactory(officer=staff.mkt))
    assert_refused("third_party", log, t1_case, staff.mkt, target="guarantor", guarantor=other_loans_guarantor,
                   phone=other_loans_guarantor.customer.phone)


def test_agency_must_be_on_the_whitelist(staff, t1_case, late_evening):
    listed = agency_save(actor=staff.gen, name="华信催收服务有限公司")
    dropped = agency_save(actor=staff.gen, name="某某资产管理公司", active=False)
    error = assert_refused("agency_not_whitelisted", log, t1_case, staff.mkt, channel="agency", target="agency",
                           agency=dropped, phone="")
    assert "whitelist" in error.message
    action = log(t1_case, staff.mkt, channel="agency", target="agency", agency=listed, phone="")
    assert action.agency == listed


def test_only_general_and_manager_keep_the_whitelist(staff):
    with pytest.raises(Forbidden):
        agency_save(actor=staff.mkt, name="X")
    assert not CollectionAgency.objects.exists()


def test_t1_case_is_worked_by_the_loans_officer_and_t2_by_general(staff, t1_case, late_evening):
    assert_refused("not_case_owner", log, t1_case, staff.mkt2)
    assert_refused("not_case_owner", log, t1_case, staff.gen)
    t1_case.tier, t1_case.owner_post, t1_case.owner = "T2", "general", None
    t1_case.save()
    assert_refused("not_case_owner", log, t1_case, staff.mkt)
    assert log(t1_case, staff.gen).actor == staff.gen


def test_contact_cannot_be_logged_ahead_of_time(staff, t1_case):
    with time_machine.travel(local(9), tick=False):
        assert_refused("contact_in_future", log, t1_case, staff.mkt, contacted_at=local(10))


def test_escalation_task_done_by_general_with_a_note(staff, t1_case):
    task = EscalationTask.objects.create(case=t1_case, loan=t1_case.loan, kind="legal_action", created_on=DAY)
    with pytest.raises(Forbidden):
        escalation_task_done(task_id=task.pk, actor=staff.mkt, note="已起诉")
    with pytest.raises(DomainError):
        escalation_task_done(task_id=task.pk, actor=staff.gen, note=" ")
    escalation_task_done(task_id=task.pk, actor=staff.gen, note="已向东城区法院起诉")
    task.refresh_from_db()
    assert task.done_by == staff.gen and task.note == "已向东城区法院起诉" and task.done_on is not None


def test_queues_marketing_sees_own_t1_general_sees_t2_t3(staff, t1_case, loan):
    assert list(collection_queue(staff.mkt)) == [t1_case]
    assert list(collection_queue(staff.mkt2)) == []
    assert list(collection_queue(staff.gen)) == []
    t1_case.tier, t1_case.owner_post, t1_case.owner = "T3", "general", None
    t1_case.save()
    EscalationTask.objects.create(case=t1_case, loan=loan, kind="guarantor_demand", created_on=DAY)
    queue = list(collection_queue(staff.gen))
    assert queue == [t1_case]
    assert [t.kind for t in queue[0].tasks.all()] == ["guarantor_demand"]
    assert list(collection_queue(staff.mkt)) == []


def test_browser_queue_case_page_and_refusal_message(staff, t1_case, client, late_evening):
    client.force_login(staff.mkt)
    queue = client.get("/postloan/collections/")
    assert queue.status_code == 200 and f"/postloan/cases/{t1_case.pk}/".encode() in queue.content
    assert client.get(f"/postloan/cases/{t1_case.pk}/").status_code == 200
    refused = client.post(f"/postloan/cases/{t1_case.pk}/", {
        "channel": "phone", "contacted_at": "2025-03-20T22:30", "target": "borrower",
        "phone": t1_case.loan.customer.phone, "result": "x"})
    assert refused.status_code == 400 and "22:00" in refused.content.decode()
    assert not CollectionAction.objects.exists()
    done = client.post(f"/postloan/cases/{t1_case.pk}/", {
        "channel": "phone", "contacted_at": "2025-03-20T21:30", "target": "borrower", "answered": "true",
        "phone": t1_case.loan.customer.phone, "result": "承诺还款"})
    assert done.status_code == 302 and CollectionAction.objects.count() == 1


def test_api_refuses_unrelated_third_party_with_code(staff, t1_case, client, late_evening):
    client.force_login(staff.mkt)
    response = client.post(f"/api/collection-cases/{t1_case.pk}/actions/", {
        "channel": "phone", "contacted_at": "2025-03-20T10:00:00+08:00", "target": "borrower", "phone": "13700000001",
    }, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "third_party"
    assert not CollectionAction.objects.exists()


def test_collection_notice_pdf_by_token(staff, t1_case, client):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=staff.gen)
    with time_machine.travel(local(10), tick=False):
        response = client.get(f"/loans/{t1_case.loan.pk}/collection-notice.pdf", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert client.get(f"/loans/{t1_case.loan.pk}/collection-notice.pdf").status_code == 302  # no session, no token
