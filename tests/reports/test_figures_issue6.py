"""The dashboard's pipeline, collection, recovery and bad-debt figures and its warning levels, worked out by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from applications.models import Loan, Status
from demo.post_loan import seed_warnings
from loancenter.lib.errors import Forbidden, RuleViolation
from loancenter.models import AuditEntry, User
from postloan import reports, warnings
from postloan.models import DailySnapshot, Installment, Repayment, WarningLevel, WriteOff, WriteOffRecovery
from tests.factories import LoanFactory

D = Decimal
SH = ZoneInfo("Asia/Shanghai")
AS_OF = date(2025, 6, 10)
START = AS_OF - timedelta(days=29)  # the default 30-day period


def make_loan(staff, product, customer, **fields):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
    if fields:
        Loan.objects.filter(pk=loan.pk).update(**fields)
        loan.refresh_from_db()
    return loan


def moved(loan, action, frm, to, at):
    with time_machine.travel(at, tick=False):  # audit rows are immutable (a trigger refuses UPDATE): create them then
        AuditEntry.objects.create(action=action, loan=loan, from_status=frm, to_status=to)


def snapshot(product, status, grade, tier, n, balance, overdue="0", provision="0", as_of=AS_OF):
    DailySnapshot.objects.create(as_of=as_of, product=product, status=status, grade=grade, tier=tier, loans=n,
                                 balance=D(balance), overdue_balance=D(overdue), provision=D(provision))


def test_pipeline_counts_each_queue_with_its_oldest_wait(staff, product, customer):
    now = datetime(2025, 6, 10, 12, tzinfo=SH)
    make_loan(staff, product, customer, status=Status.SUBMITTED, status_changed_at=now - timedelta(hours=5))
    make_loan(staff, product, customer, status=Status.SUBMITTED, status_changed_at=now - timedelta(hours=50))
    make_loan(staff, product, customer, status=Status.PENDING_APPROVAL, status_changed_at=now - timedelta(hours=8))
    make_loan(staff, product, customer, status=Status.ACTIVE, status_changed_at=now - timedelta(days=90))
    queues = {q["status"]: q for q in reports.pipeline_queues(now)}
    assert (queues["submitted"]["loans"], queues["submitted"]["oldest_hours"]) == (2, 50.0)
    assert (queues["pending_approval"]["loans"], queues["pending_approval"]["oldest_hours"]) == (1, 8.0)
    assert (queues["under_review"]["loans"], queues["under_review"]["oldest_hours"]) == (0, None)
    assert "active" not in queues and "draft" not in queues


def test_stage_turnaround_is_the_median_hours_between_transitions(staff, product, customer):
    t0 = datetime(2025, 6, 1, 9, tzinfo=SH)
    a, b, c = (make_loan(staff, product, customer) for _ in range(3))
    for loan, investigate_after, review_after in ((a, 10, 30), (b, 20, 24), (c, 3, None)):
        moved(loan, "submit", "draft", "submitted", t0)
        moved(loan, "customer_update", "submitted", "submitted", t0 + timedelta(hours=1))  # not a transition
        moved(loan, "start_investigation", "submitted", "investigating", t0 + timedelta(hours=investigate_after))
        if review_after:
            moved(loan, "complete_investigation", "investigating", "under_review", t0 + timedelta(hours=review_after))
    # A transition before the period still opens the stage of one inside it, but is not counted itself.
    old = make_loan(staff, product, customer)
    moved(old, "submit", "draft", "submitted", datetime(2025, 4, 1, 9, tzinfo=SH))
    moved(old, "start_investigation", "submitted", "investigating", t0 + timedelta(hours=100))
    got = {t["stage"]: (t["median_hours"], t["transitions"]) for t in reports.stage_turnaround(START, AS_OF)}
    # submitted: 10, 20, 3 and 100 + 61 days → median of (3, 10, 20, 1564) = 15; investigating: 20 and 4 → 12
    assert got == {"submitted": (15.0, 4), "investigating": (12.0, 2)}


def installment(loan, number, due, interest, paid):
    return Installment.objects.create(loan=loan, number=number, due_date=due, principal=D("1000.00"),
                                      interest=D(interest), paid_interest=D(paid))


def test_interest_collection_rate_counts_installments_due_in_the_period(staff, product, customer):
    loan = make_loan(staff, product, customer, status=Status.ACTIVE)
    installment(loan, 1, START - timedelta(days=1), "999.00", "0.00")  # before the period
    installment(loan, 2, START, "100.00", "100.00")
    installment(loan, 3, AS_OF, "200.00", "50.00")
    installment(loan, 4, AS_OF + timedelta(days=1), "777.00", "0.00")  # after it
    got = reports.interest_collection(START, AS_OF)
    assert got == {"interest_due": D("300.00"), "interest_received": D("150.00"), "interest_collection_rate": D("0.5000")}


@pytest.fixture
def risk_book(staff, product, customer):
    snapshot(product, "active", "normal", "", 5, "440000.00")
    snapshot(product, "active", "loss", "T3", 2, "40000.00", "40000.00", "40000.00")
    snapshot(product, "active", "special_mention", "T1", 1, "20000.00", "20000.00", "400.00")
    snapshot(product, "written_off", "loss", "T3", 1, "20000.00", "20000.00", "20000.00")
    written = make_loan(staff, product, customer, status=Status.WRITTEN_OFF, collection_tier="T3", grade="loss")
    t3 = make_loan(staff, product, customer, status=Status.ACTIVE, collection_tier="T3", grade="loss")
    t1 = make_loan(staff, product, customer, status=Status.ACTIVE, collection_tier="T1", grade="special_mention")
    wo = WriteOff.objects.create(loan=written, status=WriteOff.DONE, reason="court", principal=D("20000.00"),
                                 interest=D("0"), penalty=D("0"), proposed_by=staff.gen)
    for ref, amount, day in (("R1", "1000.00", AS_OF), ("R2", "2000.00", START), ("R0", "5000.00", START - timedelta(days=1))):
        WriteOffRecovery.objects.create(write_off=wo, loan=written, amount=D(amount), recovered_on=day, reference=ref,
                                        recorded_by=staff.gen)
    for ref, loan, amount in (("P1", t3, "3000.00"), ("P2", t1, "9000.00")):
        Repayment.objects.create(loan=loan, reference=ref, amount=D(amount), paid_on=AS_OF - timedelta(days=2),
                                 to_penalty=0, to_interest=0, to_principal=D(amount), posted_by=staff.disb)


def test_recovery_and_bad_debt_rates(risk_book):
    p = reports.portfolio(AS_OF)
    # recoveries 1,000 + 2,000 in the period (5,000 was before it); repayments 3,000 on the T3 loan (not the T1 one)
    assert (p.recoveries, p.recovery_repayments) == (D("3000.00"), D("3000.00"))
    # base: written-off balance 20,000 + active T3 balance 40,000 → 6,000 / 60,000
    assert (p.t3_balance, p.recovery_rate) == (D("40000.00"), D("0.1000"))
    # 20,000 written off / (500,000 on the books + 20,000) = 0.03846…
    assert (p.outstanding_balance, p.bad_debt_rate) == (D("500000.00"), D("0.0385"))


def test_trend_reads_one_row_per_snapshot_day(staff, product):
    snapshot(product, "active", "normal", "", 1, "90000.00", as_of=AS_OF - timedelta(days=1))
    snapshot(product, "active", "loss", "T3", 1, "10000.00", "10000.00", as_of=AS_OF - timedelta(days=1))
    snapshot(product, "active", "normal", "", 1, "80000.00", "20000.00", as_of=AS_OF)
    snapshot(product, "active", "normal", "", 1, "1.00", as_of=AS_OF - timedelta(days=90))  # outside the 90 days
    rows = reports.trend(AS_OF)
    assert [(r["as_of"], r["balance"], r["overdue_rate"], r["npl_rate"]) for r in rows] == [
        (AS_OF - timedelta(days=1), D("100000.00"), D("0.1000"), D("0.1000")),
        (AS_OF, D("80000.00"), D("0.2500"), D("0.0000")),
    ]


# ---------------------------------------------------------------------------------------------------------------
# Warning levels


def test_manager_sets_levels_with_history_and_the_latest_is_current(staff):
    warnings.warning_level_set(actor=staff.boss, figure="npl_rate", threshold=D("0.05"), direction="above")
    warnings.warning_level_set(actor=staff.boss, figure="npl_rate", threshold=D("0.03"), direction="above")
    assert WarningLevel.objects.filter(figure="npl_rate").count() == 2
    assert warnings.current_levels()["npl_rate"].threshold == D("0.03")


@pytest.mark.parametrize("who", ["mkt", "rev", "appr", "gen", "arch", "outsider"])
def test_only_the_manager_sets_warning_levels(client, staff, who):
    with pytest.raises(Forbidden):
        warnings.warning_level_set(actor=getattr(staff, who), figure="npl_rate", threshold=D("0.05"), direction="above")
    client.force_login(getattr(staff, who))
    assert client.get(reverse("warning-levels")).status_code == 403
    response = client.post(reverse("warning-levels"), {"figure": "npl_rate", "direction": "above", "threshold": "5"})
    assert response.status_code == 403
    assert not WarningLevel.objects.exists()


def test_the_manager_sets_a_level_through_the_page_and_a_superuser_without_the_post_does_not(client, staff):
    # Superusers hold no post powers (SPEC §16.14); before issue 13 a superuser set levels here.
    client.force_login(User.objects.create_superuser("root", password="x-very-long-pass"))
    refused = client.post(reverse("warning-levels"), {"figure": "overdue_rate", "direction": "above", "threshold": "1"})
    assert refused.status_code == 403 and not WarningLevel.objects.exists()
    admin = staff.boss
    client.force_login(admin)
    response = client.post(reverse("warning-levels"), {"figure": "overdue_rate", "direction": "above", "threshold": "4.5"})
    assert response.status_code == 302
    level = WarningLevel.objects.get()
    assert (level.figure, level.threshold, level.direction, level.set_by) == ("overdue_rate", D("0.045"), "above", admin)


def test_bad_levels_are_refused(staff):
    with pytest.raises(RuleViolation):
        warnings.warning_level_set(actor=staff.boss, figure="made_up", threshold=D("0.05"), direction="above")
    with pytest.raises(RuleViolation):
        warnings.warning_level_set(actor=staff.boss, figure="npl_rate", threshold=D("2"), direction="above")
    assert not WarningLevel.objects.exists()


def test_breached_level_shows_red_at_the_top_of_the_dashboard(client, staff, risk_book):
    # Overdue rate: (40,000 + 20,000) / 500,000 = 12 % — above 10 % breaches; NPL 8 % stays under 9 %.
    warnings.warning_level_set(actor=staff.boss, figure="overdue_rate", threshold=D("0.10"), direction="above")
    warnings.warning_level_set(actor=staff.boss, figure="npl_rate", threshold=D("0.09"), direction="above")
    client.force_login(staff.boss)
    html = client.get(reverse("dashboard") + f"?as_of={AS_OF}").content.decode()
    top = html[html.index('data-testid="breached-warnings"'):html.index('data-testid="portfolio"')]
    assert 'data-figure="overdue_rate"' in top and "12.00%" in top and "10.00%" in top
    assert 'data-figure="npl_rate"' not in top


def test_no_banner_when_nothing_is_breached(client, staff, risk_book):
    warnings.warning_level_set(actor=staff.boss, figure="overdue_rate", threshold=D("0.20"), direction="above")
    client.force_login(staff.boss)
    html = client.get(reverse("dashboard") + f"?as_of={AS_OF}").content.decode()
    assert 'data-testid="breached-warnings"' not in html


def test_seed_warnings_gives_the_demo_levels_once(staff):
    levels = seed_warnings(User.objects.all())
    assert {lv.figure for lv in levels} == {"overdue_rate", "npl_rate", "bad_debt_rate", "interest_collection_rate",
                                            "recovery_rate"}
    assert all(lv.set_by == staff.boss for lv in levels)
    assert seed_warnings(User.objects.all()) == []


def test_api_has_the_new_figures_and_warnings(client, staff, risk_book):
    warnings.warning_level_set(actor=staff.boss, figure="bad_debt_rate", threshold=D("0.01"), direction="above")
    client.force_login(staff.boss)
    body = client.get(f"/api/reports/portfolio/?as_of={AS_OF}").json()
    assert body["recovery_rate"] == "0.100000" and body["bad_debt_rate"] == "0.038500"
    assert (body["period_start"], body["period_days"]) == (START.isoformat(), 30)
    bad = next(w for w in body["warnings"] if w["figure"] == "bad_debt_rate")
    assert bad["breached"] is True and bad["direction"] == "above"
    assert {q["status"] for q in body["pipeline"]} >= {"submitted", "pending_approval"}


@pytest.mark.parametrize("who", ["mkt", "gen", "arch", "appr"])
def test_only_the_manager_sees_the_dashboard(client, staff, who):
    client.force_login(getattr(staff, who))
    assert client.get(reverse("dashboard")).status_code == 403


def test_dashboard_has_trend_charts_and_drill_down_links(client, staff, risk_book):
    client.force_login(staff.boss)
    html = client.get(reverse("dashboard") + f"?as_of={AS_OF}").content.decode()
    assert 'data-chart-source="chart-data-overdue_rate"' in html and 'id="chart-data-overdue_rate"' in html
    assert "/reports/loans/?status=active&amp;grade=substandard&amp;grade=doubtful&amp;grade=loss" in html
    assert "/reports/loans/?recovery=on" in html
