"""Rule 22 through the API: GET answers an ETag and ``version``; PATCH with a stale If-Match or ``version`` is a
409 ``stale_edit`` that changes nothing; a PATCH without either is applied as before."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from applications import services
from tests.edit.support import loan_snapshot, refusals, snapshot
from tests.edit.test_loan_edit import full_draft, guarantor  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(staff):
    def client_for(user) -> APIClient:
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for


def test_get_answers_the_version_as_etag(api, staff, customer, product, full_draft):  # noqa: F811
    for user, url, obj in ((staff.mkt, f"/api/customers/{customer.pk}/", customer),
                           (staff.gen, f"/api/products/{product.pk}/", product),
                           (staff.mkt, f"/api/loans/{full_draft.pk}/", full_draft)):
        response = api(user).get(url)
        assert response.status_code == 200
        assert response["ETag"] == f'"{obj.version}"' and response.json()["version"] == obj.version


@pytest.mark.sidedoor(rule="22", path="api: PATCH /api/customers/{id}/ with a stale If-Match")
def test_customer_patch_with_a_stale_if_match_is_refused(api, staff, customer):
    client = api(staff.mkt)
    etag = client.get(f"/api/customers/{customer.pk}/")["ETag"]
    assert client.patch(f"/api/customers/{customer.pk}/", {"address": "第一处"}, format="json",
                        HTTP_IF_MATCH=etag).status_code == 200
    before = snapshot(customer)
    response = client.patch(f"/api/customers/{customer.pk}/", {"employer": "第二处"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 409
    assert response.json()["code"] == "stale_edit" and "has changed since you opened it" in response.json()["detail"]
    assert snapshot(customer) == before
    assert refusals() == [("customer_update", None)]


@pytest.mark.sidedoor(rule="22", path="api: PATCH /api/customers/{id}/ with a stale version field")
def test_customer_patch_with_a_stale_version_field_is_refused(api, staff, customer):
    client = api(staff.mkt)
    services.customer_update(actor=staff.mkt, customer_id=customer.pk, data={"address": "别人改的"})
    before = snapshot(customer)
    response = client.patch(f"/api/customers/{customer.pk}/", {"employer": "x", "version": 1}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "stale_edit"
    assert snapshot(customer) == before
    assert refusals() == [("customer_update", None)]


def test_customer_patch_without_a_version_is_applied_and_answers_the_new_etag(api, staff, customer):
    services.customer_update(actor=staff.mkt, customer_id=customer.pk, data={"address": "别人改的"})
    response = api(staff.mkt).patch(f"/api/customers/{customer.pk}/", {"employer": "新单位"}, format="json")
    assert response.status_code == 200 and response["ETag"] == '"3"' and response.json()["version"] == 3
    response = api(staff.mkt).patch(f"/api/customers/{customer.pk}/", {"occupation": "会计"}, format="json",
                                     HTTP_IF_MATCH="*")
    assert response.status_code == 200 and response.json()["occupation"] == "会计"


@pytest.mark.sidedoor(rule="22", path="api: PATCH /api/products/{id}/ with a stale If-Match")
def test_product_patch_with_a_stale_if_match_is_refused(api, staff, product):
    client = api(staff.gen)
    etag = client.get(f"/api/products/{product.pk}/")["ETag"]
    services.product_save(actor=staff.boss, data={"name": "经理改的"}, product_id=product.pk)
    before = snapshot(product)
    response = client.patch(f"/api/products/{product.pk}/", {"max_dti": "0.6"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 409 and response.json()["code"] == "stale_edit"
    assert snapshot(product) == before
    assert refusals() == [("product_save", None)]


def test_product_patch_unchanged_writes_nothing(api, staff, product):
    before = snapshot(product)
    response = api(staff.gen).patch(f"/api/products/{product.pk}/", {"name": product.name}, format="json")
    assert response.status_code == 200 and snapshot(product) == before


@pytest.mark.sidedoor(rule="22", path="api: PATCH /api/loans/{id}/ with a stale If-Match")
def test_loan_patch_with_a_stale_if_match_is_refused(api, staff, full_draft):  # noqa: F811
    client = api(staff.mkt)
    etag = client.get(f"/api/loans/{full_draft.pk}/")["ETag"]
    assert client.patch(f"/api/loans/{full_draft.pk}/", {"amount": "90000.00"}, format="json",
                        HTTP_IF_MATCH=etag).status_code == 200
    before = loan_snapshot(full_draft)
    response = client.patch(f"/api/loans/{full_draft.pk}/", {"collaterals": []}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 409 and response.json()["code"] == "stale_edit"
    assert loan_snapshot(full_draft) == before
    assert refusals() == [("update", full_draft.pk)]


def test_loan_patch_of_documents_only_keeps_every_row(api, staff, full_draft):  # noqa: F811
    before = loan_snapshot(full_draft)
    response = api(staff.mkt).patch(f"/api/loans/{full_draft.pk}/",
                                    {"documents": ["id_card", "income_proof", "guarantor_id"]}, format="json")
    assert response.status_code == 200
    after = loan_snapshot(full_draft)
    assert after["guarantors"] == before["guarantors"] and after["collaterals"] == before["collaterals"]
    assert after["documents"][:2] == before["documents"]


def test_loan_patch_sending_back_the_rows_it_read_changes_them_in_place(api, staff, full_draft):  # noqa: F811
    client = api(staff.mkt)
    body = client.get(f"/api/loans/{full_draft.pk}/").json()
    rows = body["collaterals"]
    rows[0]["appraised_value"] = "140000.00"
    response = client.patch(f"/api/loans/{full_draft.pk}/", {"collaterals": rows, "version": body["version"]},
                            format="json")
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["collaterals"]] == [rows[0]["id"]]
    assert response.json()["collaterals"][0]["version"] == 2
    # The same list again, the row's version now old: refused, nothing changes.
    before = loan_snapshot(full_draft)
    rows[0]["appraised_value"] = "130000.00"
    response = client.patch(f"/api/loans/{full_draft.pk}/", {"collaterals": rows}, format="json")
    assert response.status_code == 409 and loan_snapshot(full_draft) == before


def test_loan_patch_resending_rows_without_ids_keeps_them(api, staff, full_draft):  # noqa: F811
    client = api(staff.mkt)
    body = client.get(f"/api/loans/{full_draft.pk}/").json()
    before = loan_snapshot(full_draft)
    rows = [{k: v for k, v in row.items() if k not in ("id", "version")} for row in body["collaterals"]]
    guarantors = [{"customer": g["customer"], "relationship": g["relationship"]} for g in body["guarantors"]]
    response = client.patch(f"/api/loans/{full_draft.pk}/", {"collaterals": rows, "guarantors": guarantors},
                            format="json")
    assert response.status_code == 200 and loan_snapshot(full_draft) == before
