"""Post-loan checks (SPEC §12, §16.17–20; issue 18 part 1–2): the plan, the fund-use check `disburse` creates, the
routine checks the nightly batch creates, the officer's report through the API, the business-loan sign-off, fund use."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from applications.models import Status
from loancenter.models import AuditEntry, RefusedAttempt
from postloan.models import CheckPlan, FundUse, LoanMonitoring, PostLoanCheck, Signal
from tests.conftest import payloads
from tests.factories import CustomerFactory, LoanFactory, ProductFactory

SH = ZoneInfo("Asia/Shanghai")
DISBURSED = date(2025, 1, 15)


def at(day: date, hour: int = 10):
    return time_machine.travel(datetime.combine(day, time(hour), tzinfo=SH), tick=False)


def run_batch(as_of: date) -> None:
    with at(as_of + timedelta(days=1), hour=2):
        call_command("run_nightly_batch", "--as-of", as_of.isoformat(), stdout=open("/dev/null", "w"))  # noqa: SIM115


def disburse(flow, staff, loan, **extra):
    """Drive ``loan`` to ready_to_disburse, then disburse it through the API as a disbursement officer would."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    with at(DISBURSED):
        flow.advance(loan, Status.READY_TO_DISBURSE)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=staff.disb)[0].key}")
        data = {**payloads(staff, loan)["disburse"], **extra}
        response = client.post(f"/api/loans/{loan.pk}/transitions/disburse/", data, format="json")
        assert response.status_code == 200, response.content
    loan.refresh_from_db()
    return loan


@pytest.fixture
def active(staff, flow, draft):
    return disburse(flow, staff, draft)


def test_disburse_creates_the_fund_use_check_due_after_the_plan_days(staff, active):
    check = PostLoanCheck.objects.get(loan=active)
    assert (check.kind, check.due_on, check.owner, check.status) == ("fund_use", DISBURSED + timedelta(days=30),
                                                                     staff.mkt, "open")
    assert LoanMonitoring.objects.get(loan=active).next_routine_on == date(2025, 7, 15)  # consumer: every 6 months
    record = FundUse.objects.get(loan=active)
    assert (record.payment_mode, record.amount, record.counterparty_name) == ("entrusted", active.approved_amount, "")


def test_business_loans_get_their_check_within_15_days_and_need_a_sign_off(staff, flow):
    product = ProductFactory(code="biz", category="business", allowed_purposes=[])
    loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt,
                       purpose="business_operation")
    disburse(flow, staff, loan, counterparty_name="某某设备有限公司", counterparty_account="6222020200112233445",
             counterparty_bank="工商银行")
    check = PostLoanCheck.objects.get(loan=loan)
    assert check.due_on == DISBURSED + timedelta(days=15) and check.needs_signoff
    assert LoanMonitoring.objects.get(loan=loan).next_routine_on == date(2025, 4, 15)  # business: every 3 months


def test_a_product_plan_set_by_the_manager_replaces_the_defaults(staff, api, product, flow, draft):
    url = f"/api/products/{product.pk}/check-plan/"
    assert api(staff.mkt).get(url).json() == {"product": product.pk, "fund_use_days": 30, "routine_months": 6,
                                              "default": True}
    refused = api(staff.mkt).put(url, {"fund_use_days": 10, "routine_months": 2}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "post_required"
    bad = api(staff.boss).put(url, {"fund_use_days": 0, "routine_months": 2}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "fund_use_days"
    done = api(staff.boss).put(url, {"fund_use_days": 10, "routine_months": 2}, format="json")
    assert done.status_code == 200 and done.json()["default"] is False
    assert CheckPlan.objects.get(product=product).fund_use_days == 10
    loan = disburse(flow, staff, draft)
    assert PostLoanCheck.objects.get(loan=loan).due_on == DISBURSED + timedelta(days=10)
    assert LoanMonitoring.objects.get(loan=loan).next_routine_on == date(2025, 3, 15)


def test_the_officer_completes_the_fund_use_check_through_the_api(staff, api, active):
    check = PostLoanCheck.objects.get(loan=active)
    with at(DISBURSED + timedelta(days=20)):
        missing = api(staff.mkt).post(f"/api/checks/{check.pk}/complete/",
                                      {"findings": "设备已到位", "conclusion": "normal"}, format="json")
        assert missing.status_code == 400 and missing.json()["code"] == "counterparty_required"
        other = api(staff.mkt).post(f"/api/checks/{check.pk}/complete/", {
            "findings": "设备已到位", "conclusion": "normal", "counterparty_name": "某某装修公司",
            "counterparty_account": "6222000011112222", "counterparty_bank": "建设银行"}, format="json")
        assert other.status_code == 400 and other.json()["code"] == "payee_not_counterparty"
        check.refresh_from_db()
        assert check.status == "open" and FundUse.objects.get(loan=active).counterparty_name == ""
        done = api(staff.mkt).post(f"/api/checks/{check.pk}/complete/", {
            "findings": "装修合同与发票核实一致", "conclusion": "normal", "counterparty_name": "某某装修公司",
            "counterparty_account": "6222020200112233445", "counterparty_bank": "建设银行"}, format="json")
        again = api(staff.mkt).post(f"/api/checks/{check.pk}/complete/", {"findings": "x", "conclusion": "normal"},
                                    format="json")
    assert done.status_code == 200, done.content
    body = done.json()
    assert (body["id"], body["kind"], body["status"], body["conclusion"], body["owner"]) == (
        check.pk, "fund_use", "done", "normal", "mkt")
    assert FundUse.objects.get(loan=active).counterparty_name == "某某装修公司"
    assert AuditEntry.objects.filter(loan=active, action="check_complete").count() == 1
    assert again.status_code == 409


def test_only_the_owner_completes_a_check(staff, api, active):
    check = PostLoanCheck.objects.get(loan=active)
    other = api(staff.mkt2).post(f"/api/checks/{check.pk}/complete/", {"findings": "x", "conclusion": "normal"},
                                 format="json")
    assert other.status_code == 404  # mkt2 does not see mkt's loan
    wrong_post = api(staff.rev).post(f"/api/checks/{check.pk}/complete/", {"findings": "x", "conclusion": "normal"},
                                     format="json")
    assert wrong_post.status_code == 403
    general = api(staff.gen).post(f"/api/checks/{check.pk}/complete/", {"findings": "x", "conclusion": "normal"},
                                  format="json")
    assert general.status_code == 403 and general.json()["code"] == "not_owner"
    assert RefusedAttempt.objects.filter(action="check_complete", loan_id_ref=active.pk).count() == 3
    check.refresh_from_db()
    assert check.status == "open"


def test_a_proven_prohibited_use_raises_a_red_signal(staff, api, active):
    FundUse.objects.filter(loan=active).update(counterparty_name="某某装修公司",
                                               counterparty_account="6222020200112233445", counterparty_bank="建设银行")
    check = PostLoanCheck.objects.get(loan=active)
    url = f"/api/checks/{check.pk}/complete/"
    no_evidence = api(staff.mkt).post(url, {"findings": "资金转入证券账户", "conclusion": "signal",
                                            "prohibited_use": "securities"}, format="json")
    assert no_evidence.status_code == 400 and no_evidence.json()["code"] == "evidence_required"
    done = api(staff.mkt).post(url, {"findings": "资金转入证券账户", "conclusion": "signal", "prohibited_use": "securities",
                                     "evidence": "DOC-123 银行流水"}, format="json")
    assert done.status_code == 200, done.content
    signal = Signal.objects.get(loan=active)
    assert (signal.code, signal.level, signal.source, signal.raised_by, signal.status) == (
        "prohibited_use", "red", "manual", staff.mkt, "open")
    assert FundUse.objects.get(loan=active).prohibited_use == "securities"
    # the signal brings its own check for the owner
    assert PostLoanCheck.objects.filter(loan=active, kind="signal", signal=signal, owner=staff.mkt).exists()


def test_self_payment_proofs_short_of_the_amount_cannot_conclude_normal(staff, api, flow, draft):
    loan = disburse(flow, staff, draft, payment_mode="self")
    record = FundUse.objects.get(loan=loan)
    assert record.proof_due_on == DISBURSED + timedelta(days=30)
    check = PostLoanCheck.objects.get(loan=loan)
    with at(DISBURSED + timedelta(days=5)):
        proof = api(staff.mkt).post(f"/api/loans/{loan.pk}/fund-use-proofs/",
                                    {"amount": "40000.00", "description": "装修发票"}, format="json")
        assert proof.status_code == 201
        short = api(staff.mkt).post(f"/api/checks/{check.pk}/complete/", {"findings": "发票不足", "conclusion": "normal"},
                                    format="json")
        assert short.status_code == 400 and short.json()["code"] == "proofs_short"
        concern = api(staff.mkt).post(f"/api/checks/{check.pk}/complete/", {"findings": "发票不足", "conclusion": "concern"},
                                      format="json")
    assert concern.status_code == 200
    assert Signal.objects.get(loan=loan).code == "fund_use_overdue"


def test_a_business_check_is_signed_off_by_a_reviewer_other_than_its_author(staff, api, flow):
    product = ProductFactory(code="biz2", category="business")
    loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt,
                       purpose="business_operation")
    disburse(flow, staff, loan, counterparty_name="某某公司", counterparty_account="6222020200112233445",
             counterparty_bank="工商银行")
    check = PostLoanCheck.objects.get(loan=loan)
    early = api(staff.rev).post(f"/api/checks/{check.pk}/sign-off/", {}, format="json")
    assert early.status_code == 409
    api(staff.mkt).post(f"/api/checks/{check.pk}/complete/", {"findings": "经营正常", "conclusion": "normal"},
                        format="json")
    wrong = api(staff.mkt).post(f"/api/checks/{check.pk}/sign-off/", {}, format="json")
    assert wrong.status_code == 403
    ok = api(staff.rev).post(f"/api/checks/{check.pk}/sign-off/", {}, format="json")
    assert ok.status_code == 200 and ok.json()["signed_off_by"] == "rev"


def test_the_batch_creates_the_routine_check_once_when_it_falls_due(staff, active):
    LoanMonitoring.objects.filter(loan=active).update(next_routine_on=date(2025, 2, 20))
    run_batch(date(2025, 2, 4))  # 16 days before: not yet
    assert not PostLoanCheck.objects.filter(loan=active, kind="routine").exists()
    run_batch(date(2025, 2, 5))  # within the 15 days' lead
    routine = PostLoanCheck.objects.get(loan=active, kind="routine")
    assert (routine.due_on, routine.owner, routine.created_on) == (date(2025, 2, 20), staff.mkt, date(2025, 2, 5))
    monitoring = LoanMonitoring.objects.get(loan=active)
    assert (monitoring.seq, monitoring.next_routine_on) == (2, date(2026, 1, 15))  # anchor + 2 × 6 months
    run_batch(date(2025, 2, 5))  # the same date again: nothing
    run_batch(date(2025, 2, 6))  # the next night: nothing
    assert PostLoanCheck.objects.filter(loan=active, kind="routine").count() == 1


def test_overdue_checks_are_in_the_owners_queue_and_the_managers_register(staff, client, active):
    from tests.conftest import PASSWORD

    with at(DISBURSED + timedelta(days=40)):
        client.login(username="mkt", password=PASSWORD)
        page = client.get("/postloan/monitoring/")
        assert page.status_code == 200
        assert active.application_no in page.content.decode() and "overdue" in page.content.decode()
        client.logout()
        client.login(username="boss", password=PASSWORD)
        register = client.get("/postloan/checks/?overdue=1&format=csv")
    assert register.status_code == 200
    text = b"".join(register.streaming_content).decode("utf-8-sig")
    assert active.application_no in text and "Fund-use check" in text


@pytest.mark.sidedoor(rule="monitoring", path="service: loan_disburse retried after the API disbursed (one fund-use check)")
def test_a_retried_disbursement_keeps_one_fund_use_check(staff, flow, draft):
    loan = disburse(flow, staff, draft)
    from disbursement.services import loan_disburse

    with at(DISBURSED):
        loan_disburse(loan_id=loan.pk, actor=staff.disb, disbursed_on=DISBURSED, payee_account="6222020200112233445")
    assert PostLoanCheck.objects.filter(loan=loan, kind="fund_use").count() == 1
    assert Decimal(FundUse.objects.get(loan=loan).amount) == loan.approved_amount
