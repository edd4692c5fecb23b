"""Weekly report per unit (issue 16): figures of the week, stored as PDF and Excel, one per unit and week, generated
by the Monday beat task and again on demand, listed on a page within the reader's unit."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import time_machine
from openpyxl import load_workbook

from applications.models import Loan, Status
from loancenter.celery import app
from postloan.models import WeeklyReport
from postloan.tasks import weekly_reports
from tests.factories import CustomerFactory, LoanFactory

MONDAY = date(2026, 11, 2)


def _week_of_loans(staff, east, product):
    with time_machine.travel("2026-11-03 10:00 +0800"):
        for officer in (staff.mkt, east.e_mkt, east.e_mkt):
            LoanFactory(customer=CustomerFactory(officer=officer), product=product, marketing_officer=officer)
        decided = Loan.objects.filter(unit_id="EAST")
        first, second = list(decided)
        Loan.objects.filter(pk=first.pk).update(status=Status.APPROVED, decided_at="2026-11-04T10:00+08:00",
                                                approved_amount=Decimal("50000.00"))
        Loan.objects.filter(pk=second.pk).update(status=Status.REJECTED, decided_at="2026-11-05T10:00+08:00")


def test_the_monday_beat_task_stores_each_units_report_of_the_week_before(staff, east, product):
    _week_of_loans(staff, east, product)
    assert app.conf.beat_schedule["weekly-reports"]["task"] == "postloan.tasks.weekly_reports"
    with time_machine.travel("2026-11-09 06:00 +0800"):
        weekly_reports.delay()
    reports = {r.unit_id: r for r in WeeklyReport.objects.filter(week_start=MONDAY)}
    assert set(reports) == {"CENTER", "EAST"}
    east_report = reports["EAST"]
    assert (east_report.figures["applications"], east_report.figures["decided"]) == (2, 2)
    assert (east_report.figures["pass_rate"], east_report.figures["refusal_rate"]) == ("50.00%", "50.00%")
    assert reports["CENTER"].figures["applications"] == 1
    assert bytes(east_report.pdf).startswith(b"%PDF")
    sheet = load_workbook(io.BytesIO(bytes(east_report.xlsx))).active
    values = {row[0]: row[1] for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert (values["Applications"], values["Pass rate"]) == (2, "50.00%")


def test_regenerating_replaces_the_weeks_report_and_the_page_lists_it(client, staff, east, product):
    _week_of_loans(staff, east, product)
    client.force_login(staff.boss)
    response = client.post("/reports/weekly/", {"week": "2026-11-04"})
    assert response.status_code == 302
    first = WeeklyReport.objects.get(unit_id="EAST", week_start=MONDAY)
    client.post("/reports/weekly/", {"week": "2026-11-06"})
    assert WeeklyReport.objects.filter(unit_id="EAST", week_start=MONDAY).count() == 1
    assert WeeklyReport.objects.get(unit_id="EAST", week_start=MONDAY).generated_at >= first.generated_at
    page = client.get("/reports/weekly/").content.decode()
    assert 'data-unit="EAST" data-week="2026-11-02"' in page
    assert client.get(f"/reports/weekly/{first.pk}.pdf")["Content-Type"] == "application/pdf"
    assert client.get(f"/reports/weekly/{first.pk}.xlsx").status_code == 200


def test_a_sub_center_manager_sees_and_generates_only_their_units_reports(client, staff, east, product):
    _week_of_loans(staff, east, product)
    client.force_login(staff.boss)
    client.post("/reports/weekly/", {"week": MONDAY.isoformat()})
    center = WeeklyReport.objects.get(unit_id="CENTER")
    client.force_login(east.e_boss)
    page = client.get("/reports/weekly/").content.decode()
    assert 'data-unit="EAST"' in page and 'data-unit="CENTER"' not in page
    assert client.get(f"/reports/weekly/{center.pk}.pdf").status_code == 404
    client.post("/reports/weekly/", {"week": (MONDAY + timedelta(days=7)).isoformat()})
    assert set(WeeklyReport.objects.filter(week_start=MONDAY + timedelta(days=7))
               .values_list("unit_id", flat=True)) == {"EAST"}


def test_a_marketing_officer_gets_the_403_page(client, staff):
    client.force_login(staff.mkt)
    assert client.get("/reports/weekly/").status_code == 403
