"""One regression test per finding of the schemathesis run (tests/fuzz/test_api_schema.py).

Each answer is checked against the served schema with schemathesis' own response-conformance check, so the test
fails again if the field loses its ``nullable`` or the response changes shape.
"""

from __future__ import annotations

import pytest
import requests
from schemathesis.core.transport import Response

from applications.models import Status
from loancenter.lib.dates import today
from postloan.models import CollectionCase
from tests.factories import LoanFactory
from tests.fuzz.test_api_schema import schema

pytestmark = pytest.mark.fuzz


def assert_conforms(method: str, path: str, response) -> dict:
    """``response`` (Django test client) matches what the schema documents for ``method path`` and its status."""
    request = requests.Request(method=method, url=f"http://testserver{path}").prepare()
    answer = Response(status_code=response.status_code, headers={k: [v] for k, v in response.headers.items()},
                      content=response.content, request=request, elapsed=0.0, verify=True)
    operation = schema[path][method]
    assert operation.responses.find_by_status_code(response.status_code) is not None, response.status_code
    operation.validate_response(answer)  # raises with the violating property
    return response.json()


@pytest.fixture
def active(staff, flow, product, customer):
    return flow.advance(LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt), to=Status.ACTIVE)


def test_archive_folder_without_keeper(staff, client, active):
    # Found: GET /api/archive/folders/ answered "keeper": null where the schema said string.
    client.force_login(staff.gen)
    response = client.get("/api/archive/folders/")
    assert response.status_code == 200
    body = assert_conforms("GET", "/api/archive/folders/", response)
    assert body and body[0]["keeper"] is None
    folder_id = body[0]["id"]
    detail = client.get(f"/api/archive/folders/{folder_id}/")
    assert assert_conforms("GET", "/api/archive/folders/{id}/", detail)["keeper"] is None


def test_archive_item_not_yet_received(staff, client, active):
    # Found: GET /api/archive/items/{id}/ answered "received_by": null for an item still awaited.
    client.force_login(staff.gen)
    folder_id = client.get("/api/archive/folders/").json()[0]["id"]
    items = client.get(f"/api/archive/folders/{folder_id}/").json()["loans"][0]["items"]
    awaited = next(item for item in items if item["received_by"] is None)
    response = client.get(f"/api/archive/items/{awaited['id']}/")
    assert response.status_code == 200
    assert assert_conforms("GET", "/api/archive/items/{id}/", response)["received_by"] is None


def test_archive_lending_names_its_pending_steps_as_nullable():
    # Same cause in LendingSerializer: decided_by, out_by and returned_by are null until those steps happen.
    lending = schema.raw_schema["components"]["schemas"]["Lending"]["properties"]
    assert all(lending[name].get("nullable") for name in ("decided_by", "out_by", "returned_by"))
    assert not lending["requester"].get("nullable")


def test_grade_change_without_a_decider(staff, client, active):
    # Found: POST /api/loans/{id}/grade-changes/ answered 201 with "decided_by": null where the schema said string.
    client.force_login(staff.rev)
    response = client.post(f"/api/loans/{active.pk}/grade-changes/", {"to_grade": "loss", "reasons": "借款人失联"},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    assert assert_conforms("POST", "/api/loans/{id}/grade-changes/", response)["decided_by"] is None


def test_collection_case_without_any_action(staff, client, active):
    # Same cause in CaseSerializer: last_action_at (and amount_overdue) are null for a case nobody has worked yet.
    CollectionCase.objects.create(loan=active, opened_on=today(), tier="T2", owner_post="general")
    client.force_login(staff.gen)
    response = client.get("/api/collection-cases/")
    assert response.status_code == 200
    body = assert_conforms("GET", "/api/collection-cases/", response)
    rows = body["results"] if isinstance(body, dict) else body
    assert rows and rows[0]["last_action_at"] is None


@pytest.mark.parametrize("field", ["username", "password"])
def test_token_request_with_a_nul_character_is_a_400_not_a_500(client, db, field):  # db: the login throttle
    """Found by schemathesis on PostgreSQL: a NUL in the username reached the database, which refuses NUL."""
    data = {"username": "mkt", "password": "secret-pass", field: "a\x00b"}
    response = client.post("/api/auth/token/", data)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/customers/?q=%00", "/loans/?q=a%00b", "/api/archive/folders/?q=%00", "/archive/?q=%00"])
def test_nul_in_a_search_parameter_is_a_400(client, path):
    from loancenter.services import staff_create

    client.force_login(staff_create(username="gen_nul", posts=["general"], password="pass-word-123"))
    assert client.get(path).status_code == 400
