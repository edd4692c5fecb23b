"""Bad dates and amounts (SPEC §10, §16.1; issue 13 finding 12): a payment dated 0001-01-01, in the future or before its
loan's disbursement is a 400; an amount above 10^12 is a 400, never a 500, wherever money comes in (API and forms);
each refusal changes nothing and is recorded with its loan."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from applications.models import Customer, Loan, Product, Status
from loancenter.lib.dates import today
from loancenter.models import RefusedAttempt
from postloan.models import Repayment
from tests.api.test_schedule_repayments import ledger_state

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
DISBURSED = date(2025, 3, 10)
HUGE = "1" + "0" * 26  # 1e26: decimal.InvalidOperation (500) before


@pytest.fixture
def active(flow, draft):
    """Disbursed on 2025-03-10 (a past day), so that a date before it can be tried."""
    with time_machine.travel(datetime.combine(DISBURSED, time(10), tzinfo=SH), tick=False):
        return flow.advance(draft, Status.ACTIVE)


def pay(api, staff, loan, **fields):
    payment = {"amount": "1000.00", "paid_on": today().isoformat(), "reference": "CB-BAD-1", **fields}
    return api(staff.gen).post(f"/api/loans/{loan.pk}/repayments/", payment, format="json")


@pytest.mark.parametrize("paid_on, why", [
    ("0001-01-01", "before 2000-01-01"),
    ("1999-12-31", "before 2000-01-01"),
    ("9999-12-31", "in the future"),
    ((today() + timedelta(days=1)).isoformat(), "in the future"),
    ((DISBURSED - timedelta(days=1)).isoformat(), "before the disbursement"),
])
@pytest.mark.sidedoor(rule="input", path="api: POST /api/loans/{id}/repayments/ (paid_on)")
def test_a_payment_date_outside_disbursement_to_today_is_a_400(api, staff, active, paid_on, why):
    before, count = ledger_state(active), RefusedAttempt.objects.count()
    response = pay(api, staff, active, paid_on=paid_on)
    assert response.status_code == 400, (why, response.json())
    body = response.json()
    assert body["code"] == "paid_on" and "paid_on" in body and paid_on in body["detail"]
    assert ledger_state(active) == before
    assert RefusedAttempt.objects.count() == count + 1
    assert RefusedAttempt.objects.order_by("-id").first().loan_id_ref == active.pk


def test_a_payment_on_the_disbursement_day_is_applied(api, staff, active):
    assert pay(api, staff, active, paid_on=DISBURSED.isoformat()).status_code == 201


@pytest.mark.parametrize("amount", [HUGE, "1e26", "1000000000000.01", "99999999999999999999"])
@pytest.mark.sidedoor(rule="input", path="api: POST /api/loans/{id}/repayments/ (amount)")
def test_an_amount_above_10_to_the_12_is_a_400(api, staff, active, amount):
    before = ledger_state(active)
    response = pay(api, staff, active, amount=amount)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "amount"
    assert ledger_state(active) == before
    assert RefusedAttempt.objects.order_by("-id").first().loan_id_ref == active.pk


MONEY_IN = [
    ("post", "/api/customers/", "mkt", {"name": "王五", "id_number": "110101198506150011", "phone": "13800000099",
                                        "monthly_income": HUGE, "monthly_debt_payment": "0", "civil_capacity": "full"}),
    ("post", "/api/products/", "gen", {"code": "big", "name": "大额", "category": "consumer", "min_amount": "1000",
                                       "max_amount": HUGE, "min_term_months": 6, "max_term_months": 60,
                                       "repayment_methods": ["bullet"], "min_rate": "0.03", "max_rate": "0.1",
                                       "max_dti": "0.5"}),
    ("post", "/api/loans/{loan}/recoveries/", "gen", {"amount": HUGE, "recovered_on": "2025-04-01", "reference": "R1"}),
    ("post", "/api/loans/{loan}/servicing-requests/", "gen", {"kind": "prepay_partial", "amount": HUGE}),
]


@pytest.mark.parametrize("method, path, who, body", MONEY_IN, ids=[p for _m, p, _w, _b in MONEY_IN])
def test_a_huge_amount_is_a_400_wherever_money_comes_in(api, staff, active, method, path, who, body):
    counts = (Customer.objects.count(), Product.objects.count())
    response = getattr(api(getattr(staff, who)), method)(path.format(loan=active.pk), body, format="json")
    assert response.status_code == 400, response.content
    assert (Customer.objects.count(), Product.objects.count()) == counts


@pytest.mark.sidedoor(rule="input", path="browser: POST /loans/{id}/repayments/ (amount, paid_on)")
@pytest.mark.parametrize("amount, paid_on", [(HUGE, None), ("1000.00", "0001-01-01")])
def test_the_repayment_form_refuses_a_huge_amount_or_an_ancient_date(client, staff, active, amount, paid_on):
    client.force_login(staff.gen)
    response = client.post(f"/loans/{active.pk}/repayments/", {
        "amount": amount, "paid_on": paid_on or today().isoformat(), "reference": "FORM-1"})
    assert response.status_code == 400
    assert not Repayment.objects.filter(reference="FORM-1").exists()


@pytest.mark.sidedoor(rule="input", path="api: POST /api/loans/ (interviewed_on)")
def test_an_interview_dated_0001_01_01_is_a_400(api, staff, customer, product):
    response = api(staff.mkt).post("/api/loans/", {
        "customer": customer.pk, "product": product.code, "amount": "50000.00", "term_months": 12,
        "repayment_method": "equal_installment", "purpose": "home_renovation", "interviewed_on": "0001-01-01",
    }, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "interview"
    assert not Loan.objects.filter(customer=customer, amount="50000.00").exists()


@pytest.mark.sidedoor(rule="input", path="api: POST /api/loans/{id}/transitions/complete_investigation/ (field_visit_on)")
def test_a_field_visit_dated_0001_01_01_is_a_400(api, staff, flow, draft):
    from tests.conftest import payloads

    loan = flow.advance(draft, Status.INVESTIGATING)
    data = {**payloads(staff, loan)["complete_investigation"], "field_visit_on": "0001-01-01"}
    count = RefusedAttempt.objects.count()
    response = api(staff.inv).post(f"/api/loans/{loan.pk}/transitions/complete_investigation/", data, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "field_visit"
    assert Loan.objects.get(pk=loan.pk).status == Status.INVESTIGATING
    assert RefusedAttempt.objects.count() == count + 1


@pytest.mark.sidedoor(rule="input", path="api: PATCH /api/archive/items/{id}/ (received_on)")
def test_an_archive_receipt_dated_0001_01_01_is_a_400(api, staff, flow, draft):
    from archive.models import ChecklistItem, ItemState

    loan = flow.advance(draft, Status.APPROVED)
    item = ChecklistItem.objects.filter(loan_file__loan=loan, vault=False).first()
    response = api(staff.arch).patch(f"/api/archive/items/{item.pk}/",
                                     {"copy_kind": "copy", "pages": 2, "received_on": "0001-01-01"}, format="json")
    assert response.status_code == 400, response.json()
    item.refresh_from_db()
    assert item.state == ItemState.PENDING
    assert RefusedAttempt.objects.order_by("-id").first().loan_id_ref == loan.pk


@pytest.mark.sidedoor(rule="input", path="api: POST /api/loans/ (collaterals[].appraised_on)")
def test_an_appraisal_dated_in_the_future_is_a_400(api, staff, customer):
    from tests.factories import SecuredProductFactory

    product = SecuredProductFactory(code="house")
    response = api(staff.mkt).post("/api/loans/", {
        "customer": customer.pk, "product": product.code, "amount": "500000.00", "term_months": 120,
        "repayment_method": "equal_installment", "purpose": "home_renovation", "interviewed_on": today().isoformat(),
        "collaterals": [{"kind": "property", "description": "住宅", "owner_name": customer.name,
                         "certificate_no": "京(2025)0001号", "appraised_value": "900000.00",
                         "appraised_on": "9999-12-31", "disposer_consent": True}],
    }, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "appraised_on"
    assert not Loan.objects.filter(customer=customer, product=product).exists()
