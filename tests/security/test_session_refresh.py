"""Sessions end after inactivity, slide while in use, and are not rewritten on every request (loancenter/sessions.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD


def _session_writes(ctx) -> int:
    return sum(1 for q in ctx.captured_queries if q["sql"].startswith(("UPDATE", "INSERT")) and "django_session" in q["sql"])


@pytest.fixture
def logged_in(client, staff):
    assert client.post(reverse("login"), {"username": staff.mkt.username, "password": PASSWORD}).status_code == 302
    return client


def _expiry(client):
    return Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value).expire_date


def test_idle_session_ends(logged_in):
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE + 1), tick=False):
        response = logged_in.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_busy_session_slides_past_its_age(logged_in):
    start = timezone.now()
    step = settings.SESSION_COOKIE_AGE // 3
    for k in range(1, 10):  # three ages long, a request every third of the age
        with time_machine.travel(start + timedelta(seconds=k * step), tick=False):
            assert logged_in.get(reverse("home")).status_code == 200, f"logged out after {k * step} s"


def test_request_within_the_refresh_interval_writes_nothing(logged_in):
    start = timezone.now()
    logged_in.get(reverse("home"))  # the login's session gets its first refresh stamp
    expiry = _expiry(logged_in)
    with time_machine.travel(start + timedelta(seconds=settings.SESSION_REFRESH_SECONDS // 2), tick=False):
        with CaptureQueriesContext(connection) as ctx:
            response = logged_in.get(reverse("home"))
    assert response.status_code == 200
    assert _session_writes(ctx) == 0
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert _expiry(logged_in) == expiry


def test_request_after_the_refresh_interval_slides_the_expiry(logged_in):
    start = timezone.now()
    logged_in.get(reverse("home"))
    expiry = _expiry(logged_in)
    later = start + timedelta(seconds=settings.SESSION_REFRESH_SECONDS + 5)
    with time_machine.travel(later, tick=False):
        with CaptureQueriesContext(connection) as ctx:
            response = logged_in.get(reverse("home"))
    assert response.status_code == 200
    assert _session_writes(ctx) == 1
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE and cookie["httponly"]
    assert _expiry(logged_in) >= expiry + timedelta(seconds=settings.SESSION_REFRESH_SECONDS)


def test_logout_ends_the_session_at_once(logged_in):
    key = logged_in.cookies[settings.SESSION_COOKIE_NAME].value
    logged_in.get(reverse("home"))
    logged_in.post(reverse("logout"))
    assert not Session.objects.filter(session_key=key).exists()
    logged_in.cookies[settings.SESSION_COOKIE_NAME] = key  # a copy of the old cookie is worth nothing
    response = logged_in.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_stale_cookie_creates_no_session(client, db):
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert Session.objects.count() == 0
