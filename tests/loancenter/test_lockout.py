"""Lock-out by username and client address together (SPEC §10 "Authentication"; issue 13, finding 11).

Repeated failed logins for one username from one address refuse that username from that address for
LOGIN_LOCK_MINUTES; nobody can lock another person out from elsewhere, and a locked pair gets exactly the answer
a wrong password gets (no way to tell a locked or an existing account from an unknown one).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from loancenter.models import RefusedAttempt
from tests.conftest import PASSWORD

ATTACKER = "203.0.113.9"  # documentation addresses (RFC 5737)
VICTIM = "198.51.100.20"


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def login_page(username: str, password: str, address: str):
    """A fresh browser at ``address`` posting the login form."""
    return Client(REMOTE_ADDR=address).post(reverse("login"), {"username": username, "password": password})


def logged_in(response) -> bool:
    return response.status_code == 302 and response.wsgi_request.user.is_authenticated


def login_error(response) -> str:
    match = re.search(r'data-testid="login-error">(.*?)</div>', response.content.decode(), re.S)
    assert match, "the login page shows no error"
    return match.group(1).strip()


def fail(username: str, times: int, address: str = ATTACKER) -> None:
    for _ in range(times):
        assert not logged_in(login_page(username, "wrong-password", address))


@pytest.mark.sidedoor(rule="auth", path="browser: POST /accounts/login/")
def test_five_failures_from_one_address_do_not_lock_the_account_from_another(staff, settings, clock):
    assert settings.LOGIN_MAX_FAILURES == 5
    fail("rev", 5, ATTACKER)

    assert logged_in(login_page("rev", PASSWORD, VICTIM))  # the owner, from their own desk
    assert not logged_in(login_page("rev", PASSWORD, ATTACKER))  # the pair that failed is locked
    refusal = RefusedAttempt.objects.get(code="login_locked")
    assert (refusal.action, refusal.actor) == ("login", None)
    assert "rev" in refusal.detail and ATTACKER in refusal.detail


@pytest.mark.sidedoor(rule="auth", path="browser: POST /accounts/login/")
def test_the_attacker_renewing_the_lock_never_keeps_the_owner_out(staff, settings, clock):
    for _ in range(3):
        fail("rev", 5, ATTACKER)
        assert logged_in(login_page("rev", PASSWORD, VICTIM))
        clock.shift(timedelta(minutes=settings.LOGIN_LOCK_MINUTES, seconds=1))
    assert RefusedAttempt.objects.filter(code="login_locked").count() == 3  # one per lock, not one per request


def test_locked_wrong_and_unknown_get_the_same_answer_on_the_login_page(staff, clock):
    fail("rev", 5)
    fail("ghost", 5)  # an unknown username locks the same way: nothing tells the two apart

    answers = {
        "locked, right password": login_page("rev", PASSWORD, ATTACKER),
        "locked, wrong password": login_page("rev", "wrong-password", ATTACKER),
        "unknown and locked": login_page("ghost", "wrong-password", ATTACKER),
        "wrong password": login_page("appr", "wrong-password", ATTACKER),
        "unknown": login_page("nobody", "wrong-password", ATTACKER),
    }
    shown = {name: (response.status_code, login_error(response)) for name, response in answers.items()}
    assert len(set(shown.values())) == 1, shown
    assert "locked" not in next(iter(shown.values()))[1].lower()


def test_fewer_failures_than_the_limit_do_not_lock_and_a_success_resets_the_count(staff, settings, clock):
    fail("rev", settings.LOGIN_MAX_FAILURES - 1)
    assert logged_in(login_page("rev", PASSWORD, ATTACKER))
    fail("rev", settings.LOGIN_MAX_FAILURES - 1)  # counted from zero again
    assert logged_in(login_page("rev", PASSWORD, ATTACKER))


def test_the_lock_ends_after_the_lock_minutes_and_failures_during_it_do_not_prolong_it(staff, settings, clock):
    fail("rev", 5)
    clock.shift(timedelta(minutes=settings.LOGIN_LOCK_MINUTES) - timedelta(seconds=2))
    fail("rev", 3)  # refused without being evaluated, and the lock keeps its end
    assert not logged_in(login_page("rev", PASSWORD, ATTACKER))
    clock.shift(timedelta(seconds=3))
    assert logged_in(login_page("rev", PASSWORD, ATTACKER))


def test_failures_older_than_the_window_are_forgotten(staff, settings, clock):
    fail("rev", 4)
    clock.shift(timedelta(minutes=settings.LOGIN_LOCK_MINUTES, seconds=1))
    fail("rev", 4)
    assert logged_in(login_page("rev", PASSWORD, ATTACKER))


def test_the_lock_is_per_username(staff, clock):
    fail("rev", 5)
    assert logged_in(login_page("appr", PASSWORD, ATTACKER))


def test_a_lower_limit_from_the_settings_applies(staff, settings, clock):
    settings.LOGIN_MAX_FAILURES = 2
    fail("rev", 2)
    assert not logged_in(login_page("rev", PASSWORD, ATTACKER))


def test_authenticate_without_a_request_still_counts_and_locks(staff, clock):
    """Code that calls ``authenticate()`` without a request (a shell, a script) shares one unknown address."""
    for _ in range(5):
        assert authenticate(username="rev", password="wrong-password") is None
    assert authenticate(username="rev", password=PASSWORD) is None
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR=VICTIM)
    assert authenticate(request, username="rev", password=PASSWORD) == staff.rev


def test_unknown_username_is_not_an_error(db):
    assert authenticate(username="nobody", password="whatever") is None


def admin_login(username: str, password: str, address: str):
    return Client(REMOTE_ADDR=address).post(reverse("admin:login"),
                                            {"username": username, "password": password, "next": "/admin/"})


@pytest.mark.sidedoor(rule="auth", path="admin: POST /admin/login/")
def test_the_admin_login_locks_per_address_and_answers_a_locked_pair_as_a_wrong_password(staff, clock):
    for _ in range(5):
        assert admin_login("gen", "wrong-password", ATTACKER).status_code == 200
    locked, wrong = admin_login("gen", PASSWORD, ATTACKER), admin_login("boss", "wrong-password", ATTACKER)
    assert not locked.wsgi_request.user.is_authenticated
    assert list(locked.context["form"].non_field_errors()) == list(wrong.context["form"].non_field_errors())
    assert admin_login("gen", PASSWORD, VICTIM).status_code == 302
    assert RefusedAttempt.objects.filter(code="login_locked", detail__contains="gen").count() == 1


def test_the_hourly_clean_up_deletes_only_counters_that_count_nothing(staff, clock):
    from loancenter.models import LoginCounter
    from loancenter.tasks import clear_login_counters

    fail("rev", 5)  # rev locked from ATTACKER until +15 min; ATTACKER's throttle window ends at +10 min
    fail("appr", 1, VICTIM)  # appr's window from VICTIM ends at +15 min, VICTIM's throttle window at +10 min
    clock.shift(timedelta(minutes=11))
    fail("inv", 1)  # a new throttle window for ATTACKER (+21 min), inv's pair window (+26 min)
    assert clear_login_counters() == 1  # VICTIM's throttle row
    clock.shift(timedelta(minutes=5))
    assert clear_login_counters() == 2  # rev's lock and appr's window have passed
    assert set(LoginCounter.objects.values_list("kind", "username", "address")) == {
        ("throttle", "", ATTACKER), ("lockout", "inv", ATTACKER)}
