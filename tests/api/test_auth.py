"""Token login, lock-out, and refusal of anonymous callers and staff without a post on every endpoint."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.conftest import PASSWORD


def test_token_login_gives_a_token_that_authenticates(staff):
    client = APIClient()
    response = client.post("/api/auth/token/", {"username": "mkt", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/loans/").status_code == 200


def test_wrong_password_gives_no_token(staff):
    response = APIClient().post("/api/auth/token/", {"username": "mkt", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()


def test_five_wrong_passwords_lock_the_account_even_for_the_right_password(staff, settings):
    settings.LOGIN_MAX_FAILURES = 5
    client = APIClient()
    for _ in range(4):
        assert client.post("/api/auth/token/", {"username": "rev", "password": "wrong"}, format="json").status_code == 400
    fifth = client.post("/api/auth/token/", {"username": "rev", "password": "wrong"}, format="json")
    assert (fifth.status_code, fifth.json()["code"]) == (403, "account_locked")  # the fifth failure locks
    response = client.post("/api/auth/token/", {"username": "rev", "password": PASSWORD}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "account_locked"
    # Another account is not affected.
    assert client.post("/api/auth/token/", {"username": "inv", "password": PASSWORD}, format="json").status_code == 200


def _endpoints(loan_id: int, customer_id: int, product_id: int) -> list[tuple[str, str]]:
    return [
        ("get", "/api/customers/"), ("post", "/api/customers/"),
        ("get", f"/api/customers/{customer_id}/"), ("patch", f"/api/customers/{customer_id}/"),
        ("get", "/api/products/"), ("post", "/api/products/"),
        ("get", f"/api/products/{product_id}/"), ("patch", f"/api/products/{product_id}/"),
        ("get", "/api/loans/"), ("post", "/api/loans/"),
        ("get", f"/api/loans/{loan_id}/"), ("patch", f"/api/loans/{loan_id}/"),
        ("get", f"/api/loans/{loan_id}/audit/"),
        ("post", f"/api/loans/{loan_id}/transitions/submit/"),
        ("post", f"/api/loans/{loan_id}/transitions/withdraw/"),
        ("get", "/api/schema/"), ("get", "/api/docs/"),
    ]


@pytest.mark.parametrize("who", ["anonymous", "outsider"])
def test_anonymous_and_outsider_are_refused_on_every_endpoint(who, api, staff, draft):
    client = api(None if who == "anonymous" else staff.outsider)
    # DRF answers 403 (not 401) to anonymous callers because session authentication comes first.
    expected_code = "not_authenticated" if who == "anonymous" else "post_required"
    before = draft.status
    for method, url in _endpoints(draft.pk, draft.customer_id, draft.product_id):
        response = getattr(client, method)(url, {"reason": "x"} if method != "get" else None, format="json",
                                           HTTP_ACCEPT="text/html" if url.endswith("/docs/") else "application/json")
        assert response.status_code == 403, (method, url, response.status_code)
        if response["Content-Type"].startswith("application/json"):
            assert response.json()["code"] == expected_code, (method, url)
    draft.refresh_from_db()
    assert draft.status == before
    assert not draft.audit_entries.exists()
