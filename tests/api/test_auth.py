"""Token login, lock-out, and refusal of anonymous callers and staff without a post on every endpoint."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from loancenter.models import RefusedAttempt
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
    assert response.json()["code"] == "authentication_failed"
    assert "token" not in response.json()


def _token(username: str, password: str, address: str):
    return APIClient(REMOTE_ADDR=address).post("/api/auth/token/", {"username": username, "password": password},
                                               format="json")


@pytest.mark.sidedoor(rule="auth", path="api: POST /api/auth/token/")
def test_five_wrong_passwords_lock_the_username_from_that_address_only(staff, settings):
    settings.LOGIN_MAX_FAILURES = 5
    for _ in range(5):
        assert _token("rev", "wrong", "203.0.113.9").status_code == 400
    locked = _token("rev", PASSWORD, "203.0.113.9")
    assert locked.status_code == 400 and "token" not in locked.json()  # the right password, refused as wrong
    assert _token("rev", PASSWORD, "198.51.100.20").status_code == 200  # the owner elsewhere is not locked out
    assert _token("inv", PASSWORD, "203.0.113.9").status_code == 200  # nor another account
    assert RefusedAttempt.objects.filter(code="login_locked", detail__contains="rev").count() == 1


def test_locked_wrong_and_unknown_get_the_same_answer_from_the_token_endpoint(staff):
    for username in ("rev", "ghost"):
        for _ in range(5):
            _token(username, "wrong", "203.0.113.9")
    answers = {
        "locked, right password": _token("rev", PASSWORD, "203.0.113.9"),
        "unknown and locked": _token("ghost", "wrong", "203.0.113.9"),
        "wrong password": _token("appr", "wrong", "203.0.113.9"),
        "unknown": _token("nobody", "wrong", "203.0.113.9"),
    }
    shown = {name: (response.status_code, response.json()) for name, response in answers.items()}
    assert all(answer == shown["wrong password"] for answer in shown.values()), shown
    assert shown["wrong password"] == (400, {"code": "authentication_failed", "detail": "Wrong username or password."})


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
