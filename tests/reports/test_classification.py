"""The five-level classification report: grades at the month end and the migration matrix (迁徙率) against the
previous month, on a hand-built portfolio of month-end rows and on the real nightly batch."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from applications.models import Status
from postloan import reports
from postloan.models import LoanMonthEnd
from postloan.services import loan_settle, outstanding_total, repayment_post
from tests.factories import LoanFactory
from tests.postloan.test_batch_life import at, run_batch

MARCH, APRIL = date(2025, 3, 31), date(2025, 4, 30)
D = Decimal

# loan: (March status, grade, balance, provision), (April status, grade, balance, provision)
PORTFOLIO = {
    "L1": (("active", "normal", "100000.00", "1000.00"), ("active", "normal", "98000.00", "980.00")),
    "L2": (("active", "normal", "50000.00", "500.00"), ("active", "special_mention", "49000.00", "980.00")),
    "L3": (("active", "normal", "20000.00", "200.00"), ("settled", "normal", "0.00", "0.00")),
    "L4": (("active", "special_mention", "30000.00", "600.00"), ("active", "substandard", "29000.00", "7250.00")),
    "L5": (("active", "special_mention", "10000.00", "200.00"), ("active", "normal", "9500.00", "95.00")),
    "L6": (("active", "substandard", "40000.00", "10000.00"), ("active", "substandard", "39000.00", "9750.00")),
    "L7": (("active", "doubtful", "8000.00", "4000.00"), ("written_off", "loss", "8000.00", "8000.00")),
    "L8": (("written_off", "loss", "5000.00", "5000.00"), ("written_off", "loss", "5000.00", "5000.00")),
    "L9": (None, ("active", "normal", "60000.00", "600.00")),  # disbursed in April
}


@pytest.fixture
def month_ends(staff, customer, product):
    for name, months in PORTFOLIO.items():
        loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, application_no=f"GD{name}")
        for month_end, row in zip((MARCH, APRIL), months, strict=True):
            if row:
                status, grade, balance, provision = row
                LoanMonthEnd.objects.create(month_end=month_end, loan=loan, product=product, status=status, grade=grade,
                                            balance=D(balance), provision=D(provision))


def test_grades_at_the_month_end_with_totals_and_npl_ratio(month_ends):
    report = reports.classification_report(APRIL)
    got = {line.grade: (line.loans, line.balance, line.provision) for line in report.grades}
    assert got == {
        "normal": (3, D("167500.00"), D("1675.00")),  # L1 98,000 + L5 9,500 + L9 60,000
        "special_mention": (1, D("49000.00"), D("980.00")),  # L2
        "substandard": (2, D("68000.00"), D("17000.00")),  # L4 29,000 + L6 39,000
        "doubtful": (0, D("0.00"), D("0.00")),
        "loss": (0, D("0.00"), D("0.00")),
    }
    assert (report.total.loans, report.total.balance, report.total.provision) == (6, D("284500.00"), D("19655.00"))
    assert report.npl_balance == D("68000.00")
    assert report.npl_ratio == D("0.2390")  # 68,000 / 284,500 = 0.23901…
    assert report.grades[0].share == D("0.5888")  # 167,500 / 284,500 = 0.58875…
    # Written-off loans are off the books: apart from the grades and the ratio.
    assert (report.written_off.loans, report.written_off.balance) == (2, D("13000.00"))


def cells(matrix) -> dict[str, dict[str, tuple]]:
    return {row.grade: {c.column: (c.loans, c.balance, c.loans_pct) for c in row.cells if c.loans} for row in matrix.rows}


def test_migration_matrix_accounts_for_every_loan_of_the_previous_month(month_ends):
    matrix = reports.migration_matrix(APRIL)
    assert matrix.previous == MARCH
    assert [code for code, _label in matrix.columns] == [
        "normal", "special_mention", "substandard", "doubtful", "loss", "settled", "written_off"]
    third = D("0.3333")
    assert cells(matrix) == {
        "normal": {"normal": (1, D("100000.00"), third), "special_mention": (1, D("50000.00"), third),
                   "settled": (1, D("20000.00"), third)},
        "special_mention": {"substandard": (1, D("30000.00"), D("0.5000")), "normal": (1, D("10000.00"), D("0.5000"))},
        "substandard": {"substandard": (1, D("40000.00"), D("1.0000"))},
        "doubtful": {"written_off": (1, D("8000.00"), D("1.0000"))},
        "loss": {},
    }
    rows = {row.grade: row for row in matrix.rows}
    assert (rows["normal"].loans, rows["normal"].balance) == (3, D("170000.00"))
    assert [c.balance_pct for c in rows["normal"].cells if c.loans] == [D("0.5882"), D("0.2941"), D("0.1176")]
    # Seven loans were active at the end of March (L8 was already written off, L9 did not exist yet).
    assert sum(row.loans for row in matrix.rows) == 7


def test_a_loan_without_a_month_end_row_shows_in_its_own_column(month_ends):
    LoanMonthEnd.objects.filter(month_end=APRIL, loan__application_no="GDL5").delete()
    matrix = reports.migration_matrix(APRIL)
    assert matrix.columns[-1][0] == "missing"
    assert cells(matrix)["special_mention"]["missing"] == (1, D("10000.00"), D("0.5000"))


@pytest.mark.parametrize("who", ["boss", "gen", "arch"])
def test_report_page_for_manager_general_and_archivist(client, staff, month_ends, who):
    client.force_login(getattr(staff, who))
    response = client.get(reverse("classification-report"), {"month": "2025-04"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "284,500.00" in html and "23.90%" in html and "33.33%" in html


@pytest.mark.parametrize("who", ["mkt", "inv", "rev", "appr", "clerk", "disb", "outsider"])
def test_other_posts_are_refused(client, staff, month_ends, who):
    client.force_login(getattr(staff, who))
    for fmt in ("", "csv", "pdf"):
        assert client.get(reverse("classification-report"), {"month": "2025-04", "format": fmt}).status_code == 403


def test_csv_export(client, staff, month_ends):
    client.force_login(staff.boss)
    response = client.get(reverse("classification-report"), {"month": "2025-04", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    # … and of which restructured (extension, negotiated plan): loans and balance (none here)
    assert rows[2][1:] == ["3", "167500.00", "1675.00", "58.88%", "0", "0.00"]  # 正常
    assert rows[7][1:] == ["6", "284500.00", "19655.00", "100.00%", "0", "0.00"]  # total
    assert rows[8][2:] == ["68000.00", "", "23.90%"]  # NPL
    normal_row = rows[13]
    # per column: loans, previous balance, share of the row's loans; normal → normal, special mention, …, settled
    assert normal_row[1:4] == ["1", "100000.00", "33.33%"]
    assert normal_row[4:7] == ["1", "50000.00", "33.33%"]
    assert normal_row[16:19] == ["1", "20000.00", "33.33%"]
    assert normal_row[-2:] == ["3", "170000.00"]


def test_pdf_export_with_a_token(client, staff, month_ends):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=staff.arch)
    response = client.get(reverse("classification-report"), {"month": "2025-04", "format": "pdf"},
                          HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-", "-"], input=response.content, capture_output=True, check=True).stdout.decode()
    assert "284,500.00" in text and "170,000.00" in text and "23.90%" in text


def test_real_batch_at_two_month_ends_paid_late_and_settled(staff, flow, customer, product):
    """Three loans disbursed in January: one paid on time, one never paid, one settled in March."""
    with at(date(2025, 1, 15), hour=10):
        paid, late, settled = (flow.advance(LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt,
                                                        amount=D("12000.00"), term_months=12), Status.ACTIVE)
                               for _n in range(3))
    feb, mar = date(2025, 2, 28), date(2025, 3, 31)

    def pay_due(loan, day, ref):
        owed = sum((i.total_due for i in loan.installments.filter(due_date__lte=day, paid_off_on__isnull=True)), D("0"))
        with at(day, hour=12):
            repayment_post(loan_id=loan.pk, actor=staff.gen, amount=owed, paid_on=day, reference=ref)

    pay_due(paid, date(2025, 2, 15), "P1")
    pay_due(settled, date(2025, 2, 15), "S1")
    run_batch(feb)
    assert dict(LoanMonthEnd.objects.filter(month_end=feb).values_list("loan_id", "grade")) == {
        paid.pk: "normal", late.pk: "special_mention", settled.pk: "normal"}
    with at(date(2025, 3, 10), hour=12):
        repayment_post(loan_id=settled.pk, actor=staff.gen, amount=outstanding_total(settled), paid_on=date(2025, 3, 10),
                       reference="S-ALL")
        loan_settle(loan_id=settled.pk, actor=staff.gen)
    pay_due(paid, date(2025, 3, 15), "P2")
    run_batch(mar)

    matrix = reports.migration_matrix(mar)
    feb_balance = dict(LoanMonthEnd.objects.filter(month_end=feb).values_list("loan_id", "balance"))
    assert cells(matrix) == {
        "normal": {"normal": (1, feb_balance[paid.pk], D("0.5000")), "settled": (1, feb_balance[settled.pk], D("0.5000"))},
        "special_mention": {"special_mention": (1, feb_balance[late.pk], D("1.0000"))},
        "substandard": {}, "doubtful": {}, "loss": {},
    }
    previous = LoanMonthEnd.objects.filter(month_end=feb, status="active")
    assert sum(row.loans for row in matrix.rows) == previous.count() == 3
    for row in matrix.rows:
        assert row.loans == previous.filter(grade=row.grade).count()
        assert row.balance == sum((r.balance for r in previous.filter(grade=row.grade)), D("0.00"))
