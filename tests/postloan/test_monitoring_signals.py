"""Early-warning signals (SPEC §12, §16.18–21; issue 18 part 3): raised by the nightly batch on the right night and not
again the next, raised and closed by people, the red-signal floor at the next grading, the dashboard's figures."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from applications.models import Status
from loancenter.models import RefusedAttempt
from postloan.models import CollectionCase, PostLoanCheck, Signal
from postloan.services import repayment_post
from tests.conftest import PASSWORD

SH = ZoneInfo("Asia/Shanghai")
FIRST_DUE = date(2025, 2, 15)


def at(day: date, hour: int = 10):
    return time_machine.travel(datetime.combine(day, time(hour), tzinfo=SH), tick=False)


def run_batch(as_of: date) -> None:
    with at(as_of + timedelta(days=1), hour=2):
        call_command("run_nightly_batch", "--as-of", as_of.isoformat(), stdout=open("/dev/null", "w"))  # noqa: SIM115


def codes(loan) -> list[tuple[str, date]]:
    return sorted(Signal.objects.filter(loan=loan).values_list("code", "raised_on"))


@pytest.fixture
def active(staff, flow, draft):
    with at(date(2025, 1, 15)):
        loan = flow.advance(draft, Status.ACTIVE)
    assert loan.installments.get(number=1).due_date == FIRST_DUE
    return loan


def test_the_batch_raises_each_behaviour_signal_on_its_night_and_not_again(staff, active):
    fund_use_due = PostLoanCheck.objects.get(loan=active, kind="fund_use").due_on
    assert fund_use_due == date(2025, 2, 14)
    run_batch(date(2025, 2, 14))
    assert codes(active) == []
    run_batch(date(2025, 2, 15))  # the fund-use check is overdue as of the day after its due date
    assert codes(active) == [("fund_use_overdue", date(2025, 2, 15))]
    run_batch(FIRST_DUE + timedelta(days=1))  # first missed installment: as of due date + 1 (SPEC §16.19)
    assert codes(active) == [("first_missed_installment", date(2025, 2, 16)), ("fund_use_overdue", date(2025, 2, 15))]
    first = Signal.objects.get(loan=active, code="first_missed_installment")
    assert (first.level, first.source, first.owner, first.status, first.deadline) == (
        "yellow", "batch", staff.mkt, "open", date(2025, 2, 23))
    assert PostLoanCheck.objects.filter(signal=first, kind="signal", owner=staff.mkt, due_on=first.deadline).exists()
    run_batch(FIRST_DUE + timedelta(days=1))  # the same date again: a finished date does nothing
    run_batch(FIRST_DUE + timedelta(days=2))  # the next night: nothing new
    assert len(codes(active)) == 2
    run_batch(FIRST_DUE + timedelta(days=30))
    assert not Signal.objects.filter(loan=active, code="dpd_30").exists()
    run_batch(FIRST_DUE + timedelta(days=31))  # days past due crossed 30: owned by the general post
    dpd = Signal.objects.get(loan=active, code="dpd_30")
    assert (dpd.raised_on, dpd.level, dpd.owner_post, dpd.owner) == (FIRST_DUE + timedelta(days=31), "orange",
                                                                      "general", None)
    run_batch(FIRST_DUE + timedelta(days=32))
    assert Signal.objects.filter(loan=active).count() == 3
    assert PostLoanCheck.objects.filter(loan=active, kind="signal").count() == 3


def test_three_months_of_partial_payments_raise_a_signal_on_the_third_due_date(staff, active):
    for month in (2, 3, 4):
        day = date(2025, month, 15)
        with at(day, hour=11):
            repayment_post(loan_id=active.pk, actor=staff.gen, amount=Decimal("1000.00"), paid_on=day,
                           reference=f"PART-{month}")
    # (payments on 2-15 and 3-15 are in the past when posted on their own day; the batch runs each night after)
    run_batch(date(2025, 4, 15))
    assert not Signal.objects.filter(loan=active, code="partial_payments").exists()
    run_batch(date(2025, 4, 16))
    signal = Signal.objects.get(loan=active, code="partial_payments")
    assert (signal.raised_on, signal.level) == (date(2025, 4, 16), "orange")
    run_batch(date(2025, 4, 17))
    assert Signal.objects.filter(loan=active, code="partial_payments").count() == 1


def test_a_broken_promise_to_pay_raises_a_signal_the_day_after_the_promised_date(staff, api, client, active):
    run_batch(FIRST_DUE + timedelta(days=1))
    case = CollectionCase.objects.get(loan=active, closed_on__isnull=True)
    with at(date(2025, 2, 18)):
        logged = api(staff.mkt).post(f"/api/collection-cases/{case.pk}/actions/", {
            "channel": "phone", "contacted_at": "2025-02-18T10:00:00+08:00", "target": "borrower",
            "phone": active.customer.phone, "answered": True, "result": "承诺20日还款",
            "promise_date": "2025-02-20", "promise_amount": "3000.00"}, format="json")
    assert logged.status_code == 201, logged.content
    run_batch(date(2025, 2, 20))
    assert not Signal.objects.filter(loan=active, code="broken_promise").exists()
    run_batch(date(2025, 2, 21))
    assert Signal.objects.get(loan=active, code="broken_promise").raised_on == date(2025, 2, 21)
    with at(date(2025, 2, 21)):  # the officer's queue shows the promise broken
        client.login(username="mkt", password=PASSWORD)
        assert 'data-outcome="broken"' in client.get("/postloan/monitoring/").content.decode()
    run_batch(date(2025, 2, 22))
    assert Signal.objects.filter(loan=active, code="broken_promise").count() == 1


def test_a_kept_promise_raises_nothing(staff, api, client, active):
    run_batch(FIRST_DUE + timedelta(days=1))
    case = CollectionCase.objects.get(loan=active, closed_on__isnull=True)
    with at(date(2025, 2, 18)):
        api(staff.mkt).post(f"/api/collection-cases/{case.pk}/actions/", {
            "channel": "phone", "contacted_at": "2025-02-18T10:00:00+08:00", "target": "borrower",
            "phone": active.customer.phone, "answered": True, "promise_date": "2025-02-20",
            "promise_amount": "3000.00"}, format="json")
    with at(date(2025, 2, 19)):
        repayment_post(loan_id=active.pk, actor=staff.gen, amount=Decimal("3000.00"), paid_on=date(2025, 2, 19),
                       reference="KEPT-1")
    run_batch(date(2025, 2, 21))
    assert not Signal.objects.filter(loan=active, code="broken_promise").exists()
    with at(date(2025, 2, 21)):
        client.login(username="mkt", password=PASSWORD)
        assert 'data-outcome="kept"' in client.get("/postloan/monitoring/").content.decode()


def test_an_open_red_signal_keeps_the_loan_at_least_special_mention_until_someone_else_closes_it(staff, api, active):
    run_batch(date(2025, 1, 20))
    active.refresh_from_db()
    assert active.grade == "normal"
    with at(date(2025, 1, 21), hour=20):  # (API tokens last 8 hours: the close below is within them)
        raised = api(staff.mkt).post(f"/api/loans/{active.pk}/signals/", {"code": "litigation", "note": "被起诉"},
                                     format="json")
        assert raised.status_code == 201, raised.content
        body = raised.json()
        assert (body["code"], body["level"], body["source"], body["status"], body["raised_on"], body["owner"]) == (
            "litigation", "red", "manual", "open", "2025-01-21", None)
    run_batch(date(2025, 1, 21))
    active.refresh_from_db()
    assert active.grade == "special_mention"
    signal = Signal.objects.get(pk=body["id"])
    with at(date(2025, 1, 22), hour=3):
        own = api(staff.mkt).post(f"/api/signals/{signal.pk}/close/", {"reason": "已和解"}, format="json")
        assert own.status_code == 403 and own.json()["code"] == "not_owner"  # litigation is the general post's
        no_reason = api(staff.boss).post(f"/api/signals/{signal.pk}/close/", {"reason": " "}, format="json")
        assert no_reason.status_code == 400 and no_reason.json()["code"] == "reason_required"
        closed = api(staff.boss).post(f"/api/signals/{signal.pk}/close/", {"reason": "诉讼已撤回,见法院裁定"},
                                      format="json")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    run_batch(date(2025, 1, 22))
    active.refresh_from_db()
    assert active.grade == "normal"


@pytest.mark.sidedoor(rule="sod", path="api: POST /api/signals/{id}/close/ (a red signal by its raiser)")
def test_a_red_signal_is_never_closed_by_whoever_raised_it(staff, api, active):
    raised = api(staff.gen).post(f"/api/loans/{active.pk}/signals/", {"code": "enforcement", "note": "被执行"},
                                 format="json")
    assert raised.status_code == 201
    refused = api(staff.gen).post(f"/api/signals/{raised.json()['id']}/close/", {"reason": "已解除"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "separation_of_duty"
    assert Signal.objects.get(pk=raised.json()["id"]).status == "open"
    assert RefusedAttempt.objects.filter(action="signal_close", code="separation_of_duty", loan_id_ref=active.pk).exists()
    other = api(staff.boss).post(f"/api/signals/{raised.json()['id']}/close/", {"reason": "已解除"}, format="json")
    assert other.status_code == 200


@pytest.mark.sidedoor(rule="sod", path="browser: POST /postloan/signals/{id}/close/ (a red signal by its raiser)")
def test_the_close_page_refuses_the_raiser_of_a_red_signal(staff, client, api, active):
    raised = api(staff.gen).post(f"/api/loans/{active.pk}/signals/", {"code": "litigation"}, format="json")
    client.login(username="gen", password=PASSWORD)
    url = f"/postloan/signals/{raised.json()['id']}/close/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": "已解除"})
    assert response.status_code == 403
    assert "someone else must decide it" in response.content.decode()
    assert Signal.objects.get(pk=raised.json()["id"]).status == "open"


def test_a_manual_signal_may_raise_the_level_never_lower_it(staff, api, active):
    lower = api(staff.mkt).post(f"/api/loans/{active.pk}/signals/", {"code": "litigation", "level": "yellow"},
                                format="json")
    assert lower.status_code == 400 and lower.json()["code"] == "level_too_low"
    higher = api(staff.mkt).post(f"/api/loans/{active.pk}/signals/", {"code": "job_loss", "level": "red"}, format="json")
    assert higher.status_code == 201 and higher.json()["level"] == "red"
    twice = api(staff.mkt).post(f"/api/loans/{active.pk}/signals/", {"code": "job_loss"}, format="json")
    assert twice.status_code == 409 and twice.json()["code"] == "signal_open"
    unknown = api(staff.mkt).post(f"/api/loans/{active.pk}/signals/", {"code": "moon_phase"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_code"
    wrong_post = api(staff.arch).post(f"/api/loans/{active.pk}/signals/", {"code": "job_loss"}, format="json")
    assert wrong_post.status_code == 403


def test_the_manager_sees_open_signals_by_level_product_and_officer(staff, api, client, active):
    api(staff.mkt).post(f"/api/loans/{active.pk}/signals/", {"code": "job_loss"}, format="json")
    api(staff.mkt).post(f"/api/loans/{active.pk}/signals/", {"code": "litigation"}, format="json")
    counts = api(staff.boss).get("/api/signals/counts/?by=level")
    assert counts.status_code == 200
    assert {row["key"]: row["n"] for row in counts.json()["counts"]} == {"orange": 1, "red": 1}
    assert api(staff.mkt).get("/api/signals/counts/").status_code == 403
    client.login(username="boss", password=PASSWORD)
    page = client.get("/postloan/signals/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-level="red"><strong>1</strong>' in text and active.product.name in text and "mkt" in text
    board = client.get("/dashboard/").content.decode()
    assert 'data-level="red"><div class="n">1</div>' in board and 'data-level="orange"><div class="n">1</div>' in board
    drill = client.get("/postloan/signals/?level=red")
    assert "Litigation against the borrower" in drill.content.decode()
    assert "Job loss" not in drill.content.decode()
