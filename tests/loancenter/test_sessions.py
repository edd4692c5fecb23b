"""Who a session cookie logs in, and who it sends to the login page (Django's database sessions and ModelBackend's
``get_user``; the behaviour kept from tests/loancenter/test_session_and_user_reads.py when the plain-statement
reads were removed, issue 13/14)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from loancenter.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _log_in(user) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, "the login itself failed"
    return client


def _key(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _sent_to_login(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_logged_in_user_sees_a_page(staff):
    client = _log_in(staff.mkt)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert response.wsgi_request.user == staff.mkt
    assert staff.mkt.display in response.content.decode()


def test_expired_session_row_sends_the_browser_to_login(staff):
    client = _log_in(staff.mkt)
    assert client.get(reverse("home")).status_code == 200
    Session.objects.filter(session_key=_key(client)).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert _sent_to_login(client.get(reverse("home")))


def test_logged_out_session_cookie_sends_the_browser_to_login(staff):
    client = _log_in(staff.mkt)
    old_key = _key(client)
    assert client.post(reverse("logout")).status_code in (200, 302)
    assert not Session.objects.filter(session_key=old_key).exists()
    client.cookies[settings.SESSION_COOKIE_NAME] = old_key  # a copy of the cookie kept from before the logout
    assert _sent_to_login(client.get(reverse("home")))


def test_deactivated_user_is_logged_out_on_the_next_request(staff):
    client = _log_in(staff.mkt)
    assert client.get(reverse("home")).status_code == 200
    User.objects.filter(pk=staff.mkt.pk).update(is_active=False)
    assert _sent_to_login(client.get(reverse("home")))


def test_password_change_ends_the_other_sessions(staff):
    here, elsewhere = _log_in(staff.mkt), _log_in(staff.mkt)
    assert elsewhere.get(reverse("home")).status_code == 200
    user = User.objects.get(pk=staff.mkt.pk)
    user.set_password("another-pass-456")
    user.save()
    assert _sent_to_login(elsewhere.get(reverse("home")))
    assert _sent_to_login(here.get(reverse("home")))  # no view kept this one's hash up to date either


def test_tampered_session_cookie_gives_an_anonymous_request(staff):
    client = _log_in(staff.mkt)
    key = _key(client)
    client.cookies[settings.SESSION_COOKIE_NAME] = key[:-1] + ("a" if key[-1] != "a" else "b")
    response = client.get(reverse("home"))
    assert _sent_to_login(response)
    assert not response.wsgi_request.user.is_authenticated


def test_tampered_session_data_gives_an_anonymous_request_and_a_warning(staff, caplog):
    client = _log_in(staff.mkt)
    row = Session.objects.get(session_key=_key(client))
    assert row.get_decoded()[SESSION_KEY] == str(staff.mkt.pk)
    data = row.session_data
    Session.objects.filter(pk=row.pk).update(session_data=data[:-2] + ("AA" if data[-2:] != "AA" else "BB"))
    with caplog.at_level(logging.WARNING, logger="django.security.SuspiciousSession"):
        response = client.get(reverse("home"))
    assert _sent_to_login(response)
    assert not response.wsgi_request.user.is_authenticated
    assert [r.getMessage() for r in caplog.records if r.name == "django.security.SuspiciousSession"] == [
        "Session data corrupted"
    ]
