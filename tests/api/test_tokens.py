"""API tokens expire (API_TOKEN_HOURS, default 8) and die with a password change or a deactivation (SPEC §10
"Authentication"; issue 13, finding 11: "tokens never expire and survive a password change")."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from loancenter.models import User
from tests.conftest import PASSWORD


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def issue(username: str = "mkt", password: str = PASSWORD) -> dict:
    response = APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_the_token_response_says_when_it_expires(staff, settings, clock):
    assert settings.API_TOKEN_HOURS == 8
    body = issue()
    assert set(body) == {"token", "expires_at"}
    assert datetime.fromisoformat(body["expires_at"]) == timezone.now() + timedelta(hours=8)


@pytest.mark.sidedoor(rule="auth", path="api: Authorization: Token (expired)")
def test_a_token_older_than_its_lifetime_is_refused_with_a_code(staff, clock):
    key = issue()["token"]
    clock.shift(timedelta(hours=8) - timedelta(seconds=1))
    assert with_token(key).get("/api/loans/").status_code == 200

    clock.shift(timedelta(seconds=1))
    response = with_token(key).get("/api/loans/")
    assert response.status_code == 403
    assert response.json()["code"] == "token_expired"
    assert not Token.objects.filter(key=key).exists()


def test_asking_again_after_expiry_gives_a_new_token_and_before_it_the_same(staff, clock):
    first = issue()
    assert issue() == first  # still valid: the same token, the same expiry
    clock.shift(timedelta(hours=8))
    second = issue()
    assert second["token"] != first["token"]
    assert with_token(second["token"]).get("/api/loans/").status_code == 200


def test_the_lifetime_comes_from_the_setting(staff, settings, clock):
    settings.API_TOKEN_HOURS = 1
    key = issue()["token"]
    clock.shift(timedelta(hours=1))
    assert with_token(key).get("/api/loans/").json()["code"] == "token_expired"


@pytest.mark.sidedoor(rule="auth", path="service: User.set_password")
def test_a_password_change_kills_the_token(staff):
    key = issue()["token"]
    user = User.objects.get(username="mkt")
    user.set_password("another-pass-456")
    user.save()

    response = with_token(key).get("/api/loans/")
    assert (response.status_code, response.json()["code"]) == (403, "token_invalid")
    assert issue(password="another-pass-456")["token"] != key


@pytest.mark.sidedoor(rule="auth", path="admin: POST /admin/loancenter/user/{id}/password/")
def test_a_password_change_in_the_admin_kills_the_token(client, staff):
    key = issue("rev")["token"]
    client.force_login(staff.gen)
    response = client.post(reverse("admin:auth_user_password_change", args=[staff.rev.pk]),
                           {"usable_password": "true", "password1": "new-long-pass-77", "password2": "new-long-pass-77"})
    assert response.status_code == 302
    assert User.objects.get(pk=staff.rev.pk).check_password("new-long-pass-77")
    assert with_token(key).get("/api/loans/").json()["code"] == "token_invalid"


@pytest.mark.sidedoor(rule="auth", path="service: User.save (is_active=False)")
def test_deactivation_kills_the_token_and_reactivation_does_not_revive_it(staff):
    key = issue("rev")["token"]
    user = User.objects.get(username="rev")
    user.is_active = False
    user.save()
    response = with_token(key).get("/api/loans/")
    assert response.status_code == 403 and response.json()["code"] in ("token_invalid", "account_inactive")

    user.is_active = True
    user.save()
    assert with_token(key).get("/api/loans/").json()["code"] == "token_invalid"


def test_an_unusable_password_kills_the_token(staff):
    key = issue("rev")["token"]
    user = User.objects.get(username="rev")
    user.set_unusable_password()
    user.save()
    assert with_token(key).get("/api/loans/").json()["code"] == "token_invalid"


def test_the_session_login_page_keeps_working_beside_tokens(staff):
    issue()
    assert Client().post(reverse("login"), {"username": "mkt", "password": PASSWORD}).status_code == 302
