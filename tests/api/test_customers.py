"""Customers through the API: registration, masking of ID and phone, scope, the warning list, bad input."""

from __future__ import annotations

from datetime import date

import pytest

from applications.models import Customer, Status
from loancenter.lib.idcard import mask_id_number
from loancenter.models import AuditEntry, PiiView
from tests.factories import CustomerFactory, id_number_for

ID_1990 = id_number_for(date(1990, 3, 7), male=False)


def customer_payload(**overrides) -> dict:
    return {
        "name": "王芳", "id_number": ID_1990, "phone": "13912345678", "address": "北京市朝阳区建国路88号",
        "employer": "某某银行", "occupation": "会计", "monthly_income": "18000.00", "monthly_debt_payment": "500.00",
        "civil_capacity": "full", **overrides,
    }


def test_marketing_registers_a_customer_and_reads_back_derived_fields(api, staff):
    response = api(staff.mkt).post("/api/customers/", customer_payload(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["birth_date"] == "1990-03-07"
    assert body["gender"] == "F"
    assert isinstance(body["age"], int) and body["age"] >= 35
    assert body["monthly_income"] == "18000.00"
    assert body["id_number"] == ID_1990  # marketing needs the full number
    customer = Customer.objects.get(pk=body["id"])
    assert customer.officer == staff.mkt
    assert AuditEntry.objects.filter(action="customer_create", object_id=str(customer.pk)).exists()


def test_html_in_a_name_is_stored_and_returned_as_given(api, staff):
    name = "<script>alert(1)</script>"
    response = api(staff.mkt).post("/api/customers/", customer_payload(name=name), format="json")
    assert response.status_code == 201
    assert response.json()["name"] == name
    assert Customer.objects.get(pk=response.json()["id"]).name == name


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id_number": ID_1990[:-1] + ("0" if ID_1990[-1] != "0" else "1")}, "id_number"),  # wrong check character
        ({"id_number": "12345"}, "id_number"),
        ({"id_number": "110101199002301234"}, "id_number"),  # 30 February
        ({"phone": "12345678901"}, "phone"),
        ({"phone": "1391234567"}, "phone"),
        ({"name": "张" * 51}, "name"),
        ({"address": "路" * 201}, "address"),
        ({"monthly_income": "-1.00"}, "monthly_income"),
        ({"monthly_income": "100.123"}, "monthly_income"),
        ({"civil_capacity": "partial"}, "civil_capacity"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_customer_input_is_refused_with_a_field_error_and_writes_nothing(api, staff, overrides, field):
    before = (Customer.objects.count(), AuditEntry.objects.count())
    response = api(staff.mkt).post("/api/customers/", customer_payload(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert (Customer.objects.count(), AuditEntry.objects.count()) == before


def test_the_same_id_number_cannot_be_registered_twice(api, staff, customer):
    response = api(staff.mkt).post("/api/customers/", customer_payload(id_number=customer.id_number), format="json")
    assert response.status_code == 400
    assert "id_number" in response.json()


@pytest.mark.parametrize("who", ["inv", "rev", "appr", "gen", "boss"])
def test_only_marketing_registers_customers(api, staff, who):
    response = api(getattr(staff, who)).post("/api/customers/", customer_payload(), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "post_required"
    assert not Customer.objects.exists()


def test_the_list_always_masks_id_and_phone(api, staff, customer):
    for user in (staff.mkt, staff.gen):
        rows = api(user).get("/api/customers/").json()["results"]
        row = next(r for r in rows if r["id"] == customer.pk)
        assert row["id_number"] == mask_id_number(customer.id_number) != customer.id_number
        assert row["phone"] == customer.phone[:3] + "****" + customer.phone[-4:]
    assert not PiiView.objects.exists()


def test_reviewer_sees_the_full_id_and_the_view_is_recorded_approver_sees_it_masked(api, staff, flow, draft):
    flow.advance(draft, Status.PENDING_APPROVAL)
    customer = draft.customer
    body = api(staff.rev).get(f"/api/customers/{customer.pk}/").json()
    assert body["id_number"] == customer.id_number
    assert body["phone"] == customer.phone
    assert PiiView.objects.filter(viewer=staff.rev, customer=customer, surface="api").count() == 1

    body = api(staff.appr).get(f"/api/customers/{customer.pk}/").json()
    assert body["id_number"] == mask_id_number(customer.id_number)
    assert body["phone"] != customer.phone
    assert not PiiView.objects.filter(viewer=staff.appr).exists()


def test_another_marketing_officer_cannot_see_or_change_the_customer(api, staff, customer):
    client = api(staff.mkt2)
    assert client.get(f"/api/customers/{customer.pk}/").status_code == 404
    assert client.patch(f"/api/customers/{customer.pk}/", {"address": "x"}, format="json").status_code == 404
    assert customer.pk not in [r["id"] for r in client.get("/api/customers/").json()["results"]]
    assert api(staff.inv).get(f"/api/customers/{customer.pk}/").status_code == 404  # no loan in their step yet


@pytest.mark.parametrize("who", ["rev", "boss"])
def test_reviewer_and_manager_put_a_customer_on_the_warning_list(api, staff, flow, draft, who):
    flow.advance(draft, Status.UNDER_REVIEW)  # so that the reviewer sees the customer
    customer = draft.customer
    response = api(getattr(staff, who)).patch(f"/api/customers/{customer.pk}/",
                                             {"on_warning_list": True, "reason": "逾期记录"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["on_warning_list"] is True
    customer.refresh_from_db()
    assert customer.on_warning_list
    entry = AuditEntry.objects.get(action="customer_warning_list", object_id=str(customer.pk))
    assert entry.reason == "逾期记录"


def test_marketing_cannot_set_the_warning_list_flag(api, staff, customer):
    response = api(staff.mkt).patch(f"/api/customers/{customer.pk}/", {"on_warning_list": True}, format="json")
    assert response.status_code == 403
    customer.refresh_from_db()
    assert not customer.on_warning_list


def test_the_registering_officer_edits_details_but_not_the_id_number(api, staff, customer):
    client = api(staff.mkt)
    response = client.patch(f"/api/customers/{customer.pk}/", {"employer": "新单位有限公司"}, format="json")
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.employer == "新单位有限公司"
    old_id = customer.id_number
    response = client.patch(f"/api/customers/{customer.pk}/", {"id_number": ID_1990}, format="json")
    assert response.status_code == 400
    assert "id_number" in response.json()
    customer.refresh_from_db()
    assert customer.id_number == old_id


def test_a_manager_sees_every_customer_masked_in_the_list(api, staff):
    CustomerFactory(officer=staff.mkt)
    CustomerFactory(officer=staff.mkt2)
    assert api(staff.boss).get("/api/customers/").json()["count"] == 2
