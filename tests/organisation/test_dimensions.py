"""Report dimensions (SPEC §13, §16.29): customers' region (GB/T 2260) and industry (GB/T 4754 A–T); the dashboard,
the classification report and the drill-down cut by unit, product, region, industry and officer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from applications.models import Customer, Industry, Loan, Status
from postloan.models import LoanMonthEnd
from tests.factories import CustomerFactory, LoanFactory, id_number_for

MONTH_END = date(2026, 10, 31)


def api(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _customer(**extra) -> dict:
    return {"name": "孙九", "id_number": id_number_for(date(1988, 7, 9)), "phone": "13700000002",
            "monthly_income": "18000.00", **extra}


@pytest.mark.django_db
def test_industry_sections_a_to_t_exist_after_migrating():
    assert list(Industry.objects.values_list("code", flat=True)) == [chr(c) for c in range(ord("A"), ord("T") + 1)]
    assert Industry.objects.get(code="J").name == "金融业"


def test_a_customer_carries_a_region_and_an_industry_both_optional(staff):
    created = api(staff.mkt).post("/api/customers/", _customer(region="110101", industry="I"), format="json")
    assert created.status_code == 201, created.content
    assert (created.json()["region"], created.json()["industry"]) == ("110101", "I")
    bare = api(staff.mkt).post("/api/customers/", _customer(id_number=id_number_for(date(1990, 1, 1))), format="json")
    assert bare.status_code == 201 and bare.json()["region"] == "" and bare.json()["industry"] is None


@pytest.mark.parametrize("code", ["999999", "11010", "abcdef", "110100"])
def test_a_region_code_not_in_the_snapshot_is_refused(staff, code):
    # 110100: Beijing has no prefecture-level city code in GB/T 2260 (its districts hang from the province).
    response = api(staff.mkt).post("/api/customers/", _customer(region=code), format="json")
    assert response.status_code == 400 and "region" in response.json()
    assert not Customer.objects.filter(name="孙九").exists()


def test_an_unknown_industry_is_refused(staff):
    response = api(staff.mkt).post("/api/customers/", _customer(industry="Z"), format="json")
    assert response.status_code == 400 and "industry" in response.json()


def test_the_customer_page_shows_the_region_by_name(client, staff):
    customer = CustomerFactory(officer=staff.mkt, region="130102", industry=Industry.objects.get(code="C"))
    client.force_login(staff.mkt)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "河北省 石家庄市 长安区" in page and "C 制造业" in page


# --- the cuts ------------------------------------------------------------------------------------------------------


@pytest.fixture
def book(staff, east, product):
    """An active loan in each unit (Beijing / Hebei, finance / manufacturing), with month-end rows."""
    center = LoanFactory(customer=CustomerFactory(officer=staff.mkt, region="110101",
                                                  industry=Industry.objects.get(code="J")),
                         product=product, marketing_officer=staff.mkt)
    east_loan = LoanFactory(customer=CustomerFactory(officer=east.e_mkt, region="130102",
                                                     industry=Industry.objects.get(code="C")),
                            product=product, marketing_officer=east.e_mkt)
    Loan.objects.filter(pk=center.pk).update(status=Status.ACTIVE, outstanding_principal=Decimal("50000.00"),
                                             grade="normal", stage_reached=9)
    Loan.objects.filter(pk=east_loan.pk).update(status=Status.ACTIVE, outstanding_principal=Decimal("70000.00"),
                                                grade="substandard", stage_reached=9)
    for loan, grade, balance in ((center, "normal", "50000.00"), (east_loan, "substandard", "70000.00")):
        LoanMonthEnd.objects.create(month_end=MONTH_END, loan=loan, product=product, status="active", grade=grade,
                                    balance=Decimal(balance), provision=Decimal("0.00"))
    return {"center": center, "east": east_loan}


def _csv(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode("utf-8-sig")


def test_the_classification_report_filtered_by_unit(client, staff, book):
    client.force_login(staff.boss)
    whole = _csv(client.get("/reports/classification/?month=2026-10&format=csv"))
    east = _csv(client.get("/reports/classification/?month=2026-10&unit=EAST&format=csv"))
    assert "120000.00" in whole and "50000.00" in whole
    assert "70000.00" in east and "50000.00" not in east
    assert "东区分中心" in east.splitlines()[0]  # the cut is named in the export
    page = client.get("/reports/classification/?month=2026-10&unit=EAST").content.decode()
    assert 'data-testid="report-cut"' in page


def test_a_sub_center_manager_gets_their_units_classification_whatever_they_ask(client, east, book):
    client.force_login(east.e_boss)
    rows = _csv(client.get("/reports/classification/?month=2026-10&unit=CENTER&format=csv"))
    assert "70000.00" in rows and "50000.00" not in rows


def test_the_classification_report_by_region_and_industry(client, staff, book):
    client.force_login(staff.boss)
    hebei = _csv(client.get("/reports/classification/?month=2026-10&region=130000&format=csv"))
    assert "70000.00" in hebei and "50000.00" not in hebei
    finance = _csv(client.get("/reports/classification/?month=2026-10&industry=J&format=csv"))
    assert "50000.00" in finance and "70000.00" not in finance
    bad = client.get("/reports/classification/?month=2026-10&industry=Z&format=csv")
    assert bad.status_code == 400


def test_the_dashboard_filtered_by_unit(client, staff, east, book, product):
    pending_center = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product,
                                 marketing_officer=staff.mkt)
    pending_east = LoanFactory(customer=CustomerFactory(officer=east.e_mkt), product=product,
                               marketing_officer=east.e_mkt)
    Loan.objects.filter(pk__in=[pending_center.pk, pending_east.pk]).update(status=Status.PENDING_APPROVAL,
                                                                           stage_reached=4)
    client.force_login(staff.boss)
    page = client.get("/dashboard/?unit=EAST").content.decode()
    assert pending_east.application_no in page and pending_center.application_no not in page
    assert 'data-testid="cut-figures"' in page and "70,000.00" in page
    whole = client.get("/dashboard/").content.decode()
    assert pending_east.application_no in whole and pending_center.application_no in whole
    client.force_login(east.e_boss)
    own = client.get("/dashboard/").content.decode()
    assert pending_east.application_no in own and pending_center.application_no not in own


def test_the_drill_down_and_its_export_cut_by_region_and_industry(client, staff, book):
    client.force_login(staff.boss)
    rows = _csv(client.get("/reports/loans/?status=active&industry=C&format=csv"))
    assert book["east"].application_no in rows and book["center"].application_no not in rows
    assert "东区分中心" in rows and "河北省 石家庄市 长安区" in rows and "C 制造业" in rows
    rows = _csv(client.get("/reports/loans/?status=active&region=110000&format=csv"))
    assert book["center"].application_no in rows and book["east"].application_no not in rows
    rows = _csv(client.get("/reports/loans/?status=active&unit=EAST&format=csv"))
    assert book["east"].application_no in rows and book["center"].application_no not in rows
