"""The session row and the session's user, read on every request by plain statements (loancenter/sessions.py,
loancenter/auth.py), behave as Django's ORM reads did: who is logged in, who is sent to the login page, and the
user object the views get."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from loancenter.auth import LockoutModelBackend
from loancenter.models import User
from loancenter.sessions import SessionStore
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
    assert isinstance(response.wsgi_request.session, SessionStore)  # settings.SESSION_ENGINE
    assert response.status_code == 200
    assert response.wsgi_request.user == staff.mkt
    assert staff.mkt.display in response.content.decode()


def _text(sql: str) -> str:
    """A logged statement's text; on PostgreSQL an ``EXECUTE`` of a prepared statement is looked up on the server."""
    if not sql.startswith("EXECUTE "):
        return sql
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE name = %s", [sql.split()[1]])
        return cursor.fetchone()[0]


def test_a_page_reads_the_session_and_the_user_once_each(staff):
    client = _log_in(staff.mkt)
    client.get(reverse("home"))  # the login's session takes its refresh stamp: the next request writes nothing
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("home")).status_code == 200
    statements = [_text(query["sql"]) for query in ctx.captured_queries]
    session_table, user_table = (
        connection.ops.quote_name("django_session"),
        connection.ops.quote_name("loancenter_user"),
    )
    assert sum(f"FROM {session_table}" in sql for sql in statements) == 1, statements
    assert sum(f"FROM {user_table}" in sql for sql in statements) == 1, statements


def test_expired_session_row_sends_the_browser_to_login(staff):
    client = _log_in(staff.mkt)
    assert client.get(reverse("home")).status_code == 200
    Session.objects.filter(session_key=_key(client)).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert _sent_to_login(client.get(reverse("home")))


def test_session_row_expiring_soon_still_counts(staff):
    client = _log_in(staff.mkt)
    Session.objects.filter(session_key=_key(client)).update(expire_date=timezone.now() + timedelta(seconds=30))
    assert client.get(reverse("home")).status_code == 200


def test_logged_out_session_cookie_sends_the_browser_to_login(staff):
    client = _log_in(staff.mkt)
    old_key = _key(client)
    assert client.post(reverse("logout")).status_code in (200, 302)
    assert not Session.objects.filter(session_key=old_key).exists()
    client.cookies[settings.SESSION_COOKIE_NAME] = old_key  # a copy of the cookie kept from before the logout
    assert _sent_to_login(client.get(reverse("home")))


def test_an_expired_sessions_key_is_not_reused(staff):
    client = _log_in(staff.mkt)
    old_key = _key(client)
    Session.objects.filter(session_key=old_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    store = SessionStore(old_key)
    assert store.load() == {}
    assert store.session_key is None  # else the new session below would be saved under a key someone else held
    store["note"] = "x"
    store.save()
    assert store.session_key != old_key
    assert Session.objects.get(session_key=old_key).expire_date < timezone.now()  # the old row is left as it was


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


def test_session_user_is_the_orms_user(staff):
    client = _log_in(staff.appr)  # sets last_login: the row is read after it
    User.objects.filter(pk=staff.appr.pk).update(
        last_login=timezone.now() - timedelta(days=2, microseconds=7),
        locked_until=timezone.now() - timedelta(hours=1, microseconds=3),
        failed_login_count=2,
        is_staff=True,
        email="appr@example.com",
        id_number="11010519491231002X",
    )
    expected = User.objects.get(pk=staff.appr.pk)
    assert expected.approval_limit == Decimal("200000.00")
    lazy = client.get(reverse("home")).wsgi_request.user
    assert lazy.is_authenticated  # evaluates the request's lazy user
    for user in (lazy._wrapped, LockoutModelBackend().get_user(staff.appr.pk)):
        assert type(user) is User
        assert (user._state.db, user._state.adding) == (expected._state.db, expected._state.adding)
        for field in User._meta.concrete_fields:
            got, want = getattr(user, field.attname), getattr(expected, field.attname)
            assert (type(got), repr(got)) == (type(want), repr(want)), field.attname
        for name in ("last_login", "date_joined", "locked_until"):
            assert timezone.is_aware(getattr(user, name)), name


def test_session_user_reads_empty_columns_as_the_orm_does(staff):
    expected = User.objects.get(pk=staff.mkt.pk)
    assert expected.locked_until is None and expected.approval_limit is None
    user = LockoutModelBackend().get_user(staff.mkt.pk)
    assert [getattr(user, f.attname) for f in User._meta.concrete_fields] == [
        getattr(expected, f.attname) for f in User._meta.concrete_fields
    ]


def test_backend_get_user_answers_none_where_the_orm_finds_no_active_user(staff):
    backend = LockoutModelBackend()
    assert backend.get_user(str(staff.mkt.pk)) == staff.mkt  # the session keeps the id as text
    assert backend.get_user(staff.mkt.pk + 10_000) is None
    assert backend.get_user(2**63) is None  # past the column's range: the ORM asks nothing and finds nothing
    assert backend.get_user(None) is None
    User.objects.filter(pk=staff.mkt.pk).update(is_active=False)
    assert backend.get_user(staff.mkt.pk) is None


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
