"""The manager's dashboard figures (business, risk, last night's batch) on a hand-built portfolio."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from applications.models import Loan, Status
from disbursement.models import Disbursement
from postloan import reports
from postloan.models import BatchRun, DailySnapshot
from tests.factories import CustomerFactory, LoanFactory

D = Decimal
AS_OF = date(2025, 6, 10)
SH = ZoneInfo("Asia/Shanghai")


def loan(staff, product, customer, *, status, disbursed=None, amount="0", decided=None):
    obj = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
    Loan.objects.filter(pk=obj.pk).update(
        status=status, decided_at=datetime.combine(decided, time(10), tzinfo=SH) if decided else None)
    if disbursed:
        Disbursement.objects.create(loan=obj, amount=D(amount), disbursed_on=disbursed, payee_account="6222000011112222",
                                    disburser=staff.disb)
    return obj


@pytest.fixture
def book(staff, product, customer):
    other = CustomerFactory(officer=staff.mkt)
    loan(staff, product, customer, status=Status.ACTIVE, disbursed=AS_OF, amount="100000.00", decided=date(2025, 6, 5))
    loan(staff, product, customer, status=Status.ACTIVE, disbursed=date(2025, 6, 3), amount="50000.00",
         decided=date(2025, 6, 1))
    loan(staff, product, other, status=Status.ACTIVE, disbursed=date(2025, 2, 1), amount="30000.00",
         decided=date(2025, 1, 20))
    loan(staff, product, other, status=Status.SETTLED, disbursed=date(2024, 12, 31), amount="70000.00",
         decided=date(2024, 12, 20))
    loan(staff, product, other, status=Status.REJECTED, decided=date(2025, 5, 1))
    loan(staff, product, other, status=Status.REJECTED, decided=date(2024, 12, 21))
    cells = [
        ("active", "normal", "", 5, "400000.00", "0.00", "4000.00"),
        ("active", "special_mention", "T1", 2, "60000.00", "60000.00", "1200.00"),
        ("active", "substandard", "T3", 1, "30000.00", "30000.00", "7500.00"),
        ("active", "loss", "T3", 1, "10000.00", "10000.00", "10000.00"),
        ("written_off", "loss", "T3", 1, "20000.00", "20000.00", "20000.00"),
    ]
    for status, grade, tier, n, bal, od, prov in cells:
        DailySnapshot.objects.create(as_of=AS_OF, product=product, status=status, grade=grade, tier=tier, loans=n,
                                     balance=D(bal), overdue_balance=D(od), provision=D(prov))
    DailySnapshot.objects.create(as_of=AS_OF - timedelta(days=1), product=product, status="active", grade="normal",
                                 tier="", loans=1, balance=D("1.00"), overdue_balance=D("0"), provision=D("0.01"))


def test_figures_worked_out_by_hand(book):
    p = reports.portfolio()  # the latest snapshot: AS_OF
    assert p.as_of == AS_OF
    assert p.disbursed == {"day": {"count": 1, "amount": D("100000.00")}, "month": {"count": 2, "amount": D("150000.00")},
                           "year": {"count": 3, "amount": D("180000.00")}}
    assert (p.decided, p.approved, p.rejected) == (4, 3, 1)  # 2025 decisions; the December 2024 ones do not count
    assert (p.approval_rate, p.rejection_rate) == (D("0.7500"), D("0.2500"))
    assert p.borrowers == 2
    assert (p.outstanding_balance, p.active_loans) == (D("500000.00"), 9)
    assert (p.overdue_balance, p.overdue_rate) == (D("100000.00"), D("0.2000"))  # 100,000 / 500,000
    assert (p.npl_balance, p.npl_rate) == (D("40000.00"), D("0.0800"))  # (30,000 + 10,000) / 500,000
    assert p.provision_total == D("22700.00")
    assert p.written_off_balance == D("20000.00")
    assert {g["grade"]: (g["loans"], g["balance"]) for g in p.by_grade} == {
        "normal": (5, D("400000.00")), "special_mention": (2, D("60000.00")), "substandard": (1, D("30000.00")),
        "doubtful": (0, D("0")), "loss": (1, D("10000.00"))}
    assert {t["tier"]: (t["loans"], t["balance"]) for t in p.by_tier} == {
        "": (5, D("400000.00")), "T1": (2, D("60000.00")), "T2": (0, D("0")), "T3": (2, D("40000.00"))}
    earlier = reports.portfolio(AS_OF - timedelta(days=1))
    assert (earlier.outstanding_balance, earlier.npl_rate) == (D("1.00"), D("0.0000"))


def test_dashboard_shows_the_figures_and_the_batch(client, staff, book):
    BatchRun.objects.create(as_of=AS_OF, status=BatchRun.RUNNING, chunks_total=4, chunks_done=3, loans=9)
    client.force_login(staff.boss)
    html = client.get(reverse("dashboard")).content.decode()
    assert "500,000.00" in html and "20.00%" in html and "8.00%" in html and "75.00%" in html
    assert '<progress max="100" value="75">' in html


def test_dashboard_queries_stay_constant_as_loans_grow(client, staff, book, product, customer,
                                                       django_assert_max_num_queries):
    client.force_login(staff.boss)
    # 25, three for post-loan monitoring (issue 18: checks, signals, restructured loans), and the choices of the
    # filters by unit, product, industry and officer (4; SPEC §13); today's live activity (3: disbursements,
    # applications, repayments) and whether the snapshot of the day exists (1), issue 15 part 3.
    with django_assert_max_num_queries(36) as before:
        client.get(reverse("dashboard"))
    for n in range(5):
        loan(staff, product, customer, status=Status.ACTIVE, disbursed=AS_OF - timedelta(days=n), amount="1000.00",
             decided=AS_OF - timedelta(days=n))
    with django_assert_max_num_queries(len(before.captured_queries)):
        client.get(reverse("dashboard"))


def test_only_the_manager_starts_the_batch(client, staff, product):
    with time_machine.travel(datetime(2025, 6, 11, 9, tzinfo=SH), tick=False):
        for who in ("gen", "arch", "mkt"):
            client.force_login(getattr(staff, who))
            assert client.post(reverse("batch-run-now")).status_code == 403
        assert not BatchRun.objects.exists()
        client.force_login(staff.boss)
        response = client.post(reverse("batch-run-now"))
    assert response.status_code == 302
    assert BatchRun.objects.get().as_of == AS_OF
