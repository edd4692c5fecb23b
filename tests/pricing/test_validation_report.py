"""The validation report (SPEC §15): by rating and vintage, the count, the approval rate and the share ever 90+ days
past due within 12 months; Gini and KS of the score; as a page, a PDF and an Excel file for the manager."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from applications.models import Loan, Status
from disbursement.models import Disbursement
from loancenter.lib.dates import today
from postloan.models import Installment
from risk.validation import validation_report
from tests.factories import CustomerFactory, LoanFactory


def _book(staff, product):
    """Four disbursed loans 400 days ago, each with one late installment, and a rejected one."""
    as_of = today()
    start = as_of - timedelta(days=400)
    cases = [  # (rating, score, installment due after disbursement, days late or None for unpaid)
        ("A", 760, 30, None),  # unpaid 90 days after its due date within the year: bad
        ("B", 690, 30, 100),  # paid 100 days late: bad
        ("B", 700, 30, 60),  # paid 60 days late: good
        ("C", 610, 300, None),  # 90 days after its due date falls past the first year: good
    ]
    loans = []
    for rating, score, due_after, late in cases:
        loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
        Loan.objects.filter(pk=loan.pk).update(status=Status.ACTIVE, rating=rating, score=score,
                                               decided_at=timezone.now() - timedelta(days=401), stage_reached=10)
        Disbursement.objects.create(loan=loan, amount=loan.amount, disbursed_on=start, payee_account="6222",
                                    disburser=staff.disb)
        due = start + timedelta(days=due_after)
        Installment.objects.create(loan=loan, number=1, due_date=due, principal=Decimal("100.00"),
                                   interest=Decimal("1.00"),
                                   paid_off_on=None if late is None else due + timedelta(days=late))
        loans.append(loan)
    rejected = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
    Loan.objects.filter(pk=rejected.pk).update(status=Status.REJECTED, rating="B", score=650,
                                               decided_at=timezone.now() - timedelta(days=401))
    return loans


def test_the_report_counts_outcomes_by_rating_and_measures_the_score(staff, product):
    _book(staff, product)

    report = validation_report(Loan.objects.all(), as_of=today())

    by_rating = {c.rating: c for c in report.by_rating}
    assert (by_rating["A"].mature, by_rating["A"].bad) == (1, 1)
    assert (by_rating["B"].decided, by_rating["B"].approved, by_rating["B"].mature, by_rating["B"].bad) == (3, 2, 2, 1)
    assert by_rating["B"].approval_rate == Decimal(2) / 3
    assert (by_rating["C"].mature, by_rating["C"].bad) == (1, 0)
    # Bads score 760 and 690, goods 700 and 610: of the four (good, bad) pairs the good is above in one
    # (700 > 690): AUC ¼, Gini −0.5 (this tiny book is scored backwards); KS: at or below 610 no bad and half
    # the goods, a gap of 0.5, the largest.
    assert report.gini == pytest.approx(-0.5)
    assert report.ks == pytest.approx(0.5)
    assert report.scored == 4


def test_the_manager_reads_it_as_a_page_a_pdf_and_an_excel_file(client, staff, product):
    _book(staff, product)
    client.force_login(staff.boss)

    page = client.get("/reports/validation/")
    assert page.status_code == 200
    assert b'data-figure="gini">-0.500<' in page.content

    pdf = client.get("/reports/validation/?format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    xlsx = client.get("/reports/validation/?format=xlsx")
    assert xlsx.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content) if xlsx.streaming else xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:2] == ("Gini", -0.5)
    assert any(row[:2] == ("A", "All") and row[7] == 1 for row in rows)

    client.force_login(staff.mkt)
    assert client.get("/reports/validation/").status_code == 403
