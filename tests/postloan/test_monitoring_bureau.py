"""The credit-bureau register (SPEC §12, §16.22; issue 18 part 4)."""

from __future__ import annotations

import pytest

from loancenter.models import AuditEntry
from postloan.models import CreditQuery
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory


@pytest.mark.sidedoor(rule="monitoring", path="api: POST /api/customers/{id}/credit-queries/ without an authorisation")
def test_a_query_without_the_written_authorisation_is_refused(staff, api, customer):
    for body in ({"purpose": "pre_loan", "summary": "无逾期"},
                 {"purpose": "pre_loan", "authorisation_document": "  ", "summary": "无逾期"}):
        refused = api(staff.mkt).post(f"/api/customers/{customer.pk}/credit-queries/", body, format="json")
        assert refused.status_code == 400 and refused.json()["code"] == "no_authorisation"
    assert not CreditQuery.objects.exists()


def test_a_query_is_recorded_with_its_structured_result(staff, api, customer):
    response = api(staff.mkt).post(f"/api/customers/{customer.pk}/credit-queries/", {
        "purpose": "post_loan", "authorisation_document": "DOC-2025-0042", "summary": "新增两笔信用卡负债",
        "overdue_count_24m": 2, "worst_dpd": 45, "queries_6m": 7, "new_debt": "35000.00"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["purpose"], body["queried_by"], body["overdue_count_24m"], body["worst_dpd"], body["queries_6m"],
            body["new_debt"]) == ("post_loan", "mkt", 2, 45, 7, "35000.00")
    assert AuditEntry.objects.filter(action="credit_query").count() == 1
    listed = api(staff.mkt).get(f"/api/customers/{customer.pk}/credit-queries/")
    assert [q["id"] for q in listed.json()] == [body["id"]]


def test_who_may_query_and_whom(staff, api, customer):
    body = {"purpose": "pre_loan", "authorisation_document": "DOC-1"}
    assert api(staff.arch).post(f"/api/customers/{customer.pk}/credit-queries/", body,
                                format="json").status_code == 403
    bad = api(staff.mkt).post(f"/api/customers/{customer.pk}/credit-queries/", {**body, "purpose": "curiosity"},
                              format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "purpose"
    stranger = CustomerFactory(officer=staff.mkt2)
    assert api(staff.mkt).post(f"/api/customers/{stranger.pk}/credit-queries/", body,
                               format="json").status_code == 404


def test_the_manager_sees_queries_per_officer(staff, api, client, customer):
    for n in range(3):
        api(staff.mkt).post(f"/api/customers/{customer.pk}/credit-queries/",
                            {"purpose": "pre_loan", "authorisation_document": f"DOC-{n}"}, format="json")
    client.login(username="boss", password=PASSWORD)
    page = client.get("/postloan/credit-queries/")
    assert page.status_code == 200
    text = page.content.decode()
    assert '<td>mkt</td><td class="num">3</td>' in text
