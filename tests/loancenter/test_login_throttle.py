"""Login and token requests are throttled per client address, counting failures only (SPEC §16.14; issue 13).

Default: 20 failures per address per 10 minutes (``LOGIN_THROTTLE_RATE``). Past it, every login from that address
is refused without its password being checked until the window ends; other addresses are not affected.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from loancenter.models import RefusedAttempt
from tests.conftest import PASSWORD

ADDRESS = "203.0.113.7"
OTHER = "198.51.100.8"


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def page(username: str, password: str, address: str = ADDRESS):
    return Client(REMOTE_ADDR=address).post(reverse("login"), {"username": username, "password": password})


def token(username: str, password: str, address: str = ADDRESS):
    return APIClient(REMOTE_ADDR=address).post("/api/auth/token/", {"username": username, "password": password},
                                               format="json")


def spray(count: int, address: str = ADDRESS, via=page) -> None:
    """``count`` failures from ``address``, each for another username, so no lock-out gets in the way."""
    for i in range(count):
        response = via(f"guess{i}", "wrong-password", address)
        assert response.status_code in (200, 400), response.status_code


@pytest.mark.sidedoor(rule="auth", path="browser: POST /accounts/login/")
def test_twenty_failures_from_an_address_stop_its_logins_for_ten_minutes(staff, settings, clock):
    assert settings.LOGIN_THROTTLE_RATE == "20/10m"
    spray(20)

    refused = page("mkt", PASSWORD)  # even the right password: it is not even checked
    assert refused.status_code == 429
    assert not refused.wsgi_request.user.is_authenticated
    assert "Too many failed logins from your address" in refused.content.decode()
    assert RefusedAttempt.objects.filter(code="login_throttled").count() == 1
    assert page("mkt", PASSWORD, OTHER).status_code == 302  # another address is not affected

    clock.shift(timedelta(minutes=10, seconds=1))
    assert page("mkt", PASSWORD).status_code == 302


@pytest.mark.sidedoor(rule="auth", path="api: POST /api/auth/token/")
def test_the_token_endpoint_answers_429_with_a_code_past_the_rate(staff, clock):
    spray(20, via=token)

    response = token("mkt", PASSWORD)
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 600
    assert "token" not in response.json()
    assert RefusedAttempt.objects.filter(code="login_throttled").count() == 1
    assert token("mkt", PASSWORD, OTHER).status_code == 200


def test_failures_on_the_page_and_the_api_count_together(staff, clock):
    spray(10, via=page)
    spray(10, via=token)
    assert token("mkt", PASSWORD).status_code == 429
    assert page("mkt", PASSWORD).status_code == 429


def test_the_admin_login_is_throttled_too(staff, clock):
    spray(20)
    response = Client(REMOTE_ADDR=ADDRESS).post(reverse("admin:login"), {"username": "gen", "password": PASSWORD,
                                                                          "next": "/admin/"})
    assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated


def test_successful_logins_are_not_counted(staff, clock):
    for _ in range(25):
        assert page("mkt", PASSWORD).status_code == 302
        assert token("mkt", PASSWORD).status_code == 200
    spray(19)
    assert page("mkt", PASSWORD).status_code == 302


def test_the_rate_comes_from_the_setting(staff, settings, clock):
    settings.LOGIN_THROTTLE_RATE = "3/1m"
    spray(3)
    assert page("mkt", PASSWORD).status_code == 429
    clock.shift(timedelta(minutes=1, seconds=1))
    assert page("mkt", PASSWORD).status_code == 302


def test_a_forged_forwarded_for_header_does_not_change_the_address(staff, clock):
    """Without a trusted proxy (NUM_PROXIES=0) the address is the connection's, whatever the client claims."""
    for i in range(20):
        Client(REMOTE_ADDR=ADDRESS, HTTP_X_FORWARDED_FOR=f"10.9.8.{i}").post(
            reverse("login"), {"username": f"guess{i}", "password": "wrong-password"})
    assert page("mkt", PASSWORD).status_code == 429
