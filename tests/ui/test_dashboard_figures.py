"""The manager's dashboard says what each figure is as of, counts today live, and draws its trends with Chart.js
from our static files (issue 15 part 3)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from applications.models import Loan, Status
from disbursement.models import Disbursement
from postloan import warnings
from postloan.models import BatchRun, DailySnapshot, LoanMonthEnd, Repayment
from tests.factories import LoanFactory

D = Decimal
SH = ZoneInfo("Asia/Shanghai")
SNAPSHOT_DAY = date(2025, 6, 10)
NOW = datetime(2025, 6, 11, 15, 30, tzinfo=SH)  # the afternoon after the night's batch of June 10


def snapshot(product, day, balance, overdue="0", grade="normal", n=1):
    DailySnapshot.objects.create(as_of=day, product=product, status="active", grade=grade, tier="", loans=n,
                                 balance=D(balance), overdue_balance=D(overdue), provision=D("0"))


@pytest.fixture
def book(staff, product, customer):
    """Last night's snapshot of 32 loans, a finished batch, and two loans disbursed today after it ran."""
    for back, overdue in ((2, "1000.00"), (1, "3000.00"), (0, "6000.00")):
        snapshot(product, SNAPSHOT_DAY - timedelta(days=back), "100000.00", overdue, n=32)
    BatchRun.objects.create(as_of=SNAPSHOT_DAY, status=BatchRun.DONE, chunks_total=1, chunks_done=1, loans=32,
                            started_at=datetime(2025, 6, 11, 2, 0, tzinfo=SH),
                            finished_at=datetime(2025, 6, 11, 2, 7, tzinfo=SH))
    today = NOW.date()
    for amount in ("1200000.00", "350000.00"):
        loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
        Loan.objects.filter(pk=loan.pk).update(status=Status.ACTIVE)
        Disbursement.objects.create(loan=loan, amount=D(amount), disbursed_on=today, payee_account="6222000011112222",
                                    disburser=staff.disb)
    submitted = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, amount=D("80000.00"))
    Loan.objects.filter(pk=submitted.pk).update(status=Status.SUBMITTED, submitted_at=NOW - timedelta(hours=3))
    Repayment.objects.create(loan=loan, reference="T1", amount=D("12345.67"), paid_on=today, to_penalty=0,
                             to_interest=0, to_principal=D("12345.67"), posted_by=staff.disb)
    return loan


def dashboard_html(client, staff) -> str:
    client.force_login(staff.boss)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start:html.index("</section>", start)]


def test_todays_disbursements_are_counted_live_beside_last_nights_snapshot(client, staff, book):
    html = dashboard_html(client, staff)
    today = section(html, "today-activity")
    assert 'data-as-of="live"' in today and "2025-06-11 15:30" in today
    assert re.search(r'data-testid="today-disbursed"><div class="n">2</div>', today)
    assert "1,550,000.00" in today  # 1,200,000 + 350,000, with separators
    assert re.search(r'data-testid="today-applications"><div class="n">1</div>', today) and "80,000.00" in today
    assert re.search(r'data-testid="today-repayments"><div class="n">1</div>', today) and "12,345.67" in today
    # The portfolio's figures are last night's, and say so with the snapshot's day and when the batch took it.
    portfolio = section(html, "portfolio")
    assert 'data-as-of="snapshot" data-day="2025-06-10"' in portfolio
    assert "2025-06-11 02:07" in portfolio


def test_every_state_count_says_whether_it_is_live_or_from_the_snapshot(client, staff, book):
    html = dashboard_html(client, staff)
    counts = html[html.index('data-testid="counts"'):]
    active = re.search(r'<tr data-status="active">.*?</tr>', counts, re.S).group(0)
    submitted = re.search(r'<tr data-status="submitted">.*?</tr>', counts, re.S).group(0)
    assert 'data-as-of="snapshot"' in active and "Snapshot of 2025-06-10" in active
    assert '<td class="num">32</td>' in active  # the snapshot's 32, not the 34 active now
    assert 'data-as-of="live"' in submitted and '<td class="num">1</td>' in submitted
    total = section(html, "live-queues")
    assert "1 in the approval pipeline (live) + 32 on the book (snapshot of 2025-06-10)" in total


def chart_data(html: str, code: str) -> dict:
    found = re.search(rf'<script id="chart-data-{code}" type="application/json">(.*?)</script>', html, re.S)
    assert found, f"no data for the {code} chart"
    return json.loads(found.group(1))


def test_trend_charts_get_their_data_as_json_with_the_warning_level(client, staff, book):
    warnings.warning_level_set(actor=staff.boss, figure="overdue_rate", threshold="0.05", direction="above")
    html = dashboard_html(client, staff)
    data = chart_data(html, "overdue_rate")
    assert data["labels"] == ["2025-06-08", "2025-06-09", "2025-06-10"]
    assert data["values"] == [1.0, 3.0, 6.0]  # percentages, as the axis shows them
    assert data["pct"] is True
    assert data["warning"] == {"value": 5.0, "label": "Warning level 5.00%"}
    balance = chart_data(html, "balance")
    assert balance["values"] == [100000.0, 100000.0, 100000.0] and balance["warning"] is None
    # The canvas reads that element; no inline script anywhere on the page (CSP: scripts from our files only).
    assert 'data-chart-source="chart-data-overdue_rate"' in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert "/static/vendor/chartjs/chart.umd.min.js" in html and "/static/js/charts.js" in html


def test_without_javascript_each_trend_is_a_table(client, staff, book):
    html = dashboard_html(client, staff)
    table = html[html.index('data-testid="trend-table-overdue_rate"'):]
    table = table[:table.index("</table>")]
    assert re.findall(r"<tr><td>([\d-]+)</td><td class=\"num\">([^<]+)</td></tr>", table) == [
        ("2025-06-08", "1.00%"), ("2025-06-09", "3.00%"), ("2025-06-10", "6.00%")]
    balance = html[html.index('data-testid="trend-table-balance"'):]
    assert '<td class="num">100,000.00</td>' in balance[:balance.index("</table>")]
    assert '<details class="chart-data" open>' in html  # open until the script has drawn the chart


def test_roll_rate_matrix_is_a_heat_map(client, staff, book, product, customer):
    for n in range(4):
        loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
        LoanMonthEnd.objects.create(loan=loan, product=product, month_end=date(2025, 4, 30), status="active", grade="normal",
                                    balance=D("1000.00"), provision=D("0"))
        grade = "normal" if n < 3 else "substandard"
        LoanMonthEnd.objects.create(loan=loan, product=product, month_end=date(2025, 5, 31), status="active", grade=grade,
                                    balance=D("1000.00"), provision=D("0"))
    html = dashboard_html(client, staff)
    matrix = html[html.index('data-testid="migration-matrix"'):]
    row = re.search(r'<tr data-grade="normal">.*?</tr>', matrix, re.S).group(0)
    stay = re.search(r'<td class="num dir-stay heat-(\d)" data-column="normal"', row)
    worse = re.search(r'<td class="num dir-worse heat-(\d)" data-column="substandard"', row)
    empty = re.search(r'<td class="num dir-better heat-(\d)"|<td class="num dir-exit heat-(\d)" data-column="settled"', row)
    assert stay and worse and empty
    assert int(stay.group(1)) > int(worse.group(1)) > 0  # 75 % stayed, 25 % got worse: the darker, the more
    assert (empty.group(1) or empty.group(2)) == "0"
    assert 'class="data heatmap"' in html and "/static/css/charts.css" in html


def test_chart_js_is_served_from_our_static_files_with_its_licence():
    vendor = Path(settings.BASE_DIR) / "static" / "vendor" / "chartjs"
    script = (vendor / "chart.umd.min.js").read_text()
    assert "Chart.js v4.6.1" in script[:300]
    assert "MIT" in (vendor / "LICENSE.md").read_text()
