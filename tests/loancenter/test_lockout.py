"""Repeated failed logins lock the account for LOGIN_LOCK_MINUTES (issue 2)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.utils import timezone

from loancenter.auth import is_locked
from loancenter.models import User
from tests.conftest import PASSWORD


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def fail(username: str, times: int) -> None:
    for _ in range(times):
        assert authenticate(username=username, password="wrong-password") is None


def test_correct_password_logs_in(staff):
    assert authenticate(username="rev", password=PASSWORD) == staff.rev


def test_fewer_failures_than_the_limit_do_not_lock(staff, settings, clock):
    fail("rev", settings.LOGIN_MAX_FAILURES - 1)
    assert not is_locked("rev")
    assert authenticate(username="rev", password=PASSWORD) == staff.rev
    assert User.objects.get(pk=staff.rev.pk).failed_login_count == 0  # a success resets the count


def test_five_wrong_passwords_lock_the_account_and_then_it_unlocks(staff, settings, clock):
    assert settings.LOGIN_MAX_FAILURES == 5
    fail("rev", 5)
    assert is_locked("rev")
    assert authenticate(username="rev", password=PASSWORD) is None  # correct password refused while locked

    clock.shift(timedelta(minutes=settings.LOGIN_LOCK_MINUTES) - timedelta(seconds=1))
    assert authenticate(username="rev", password=PASSWORD) is None

    clock.shift(timedelta(seconds=2))
    assert not is_locked("rev")
    assert authenticate(username="rev", password=PASSWORD) == staff.rev


def test_failures_during_the_lock_do_not_unlock_it_early(staff, settings, clock):
    fail("rev", 5)
    locked_until = User.objects.get(pk=staff.rev.pk).locked_until
    assert locked_until == timezone.now() + timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    fail("rev", 3)
    assert User.objects.get(pk=staff.rev.pk).locked_until == locked_until


def test_lock_is_per_account(staff, clock):
    fail("rev", 5)
    assert authenticate(username="appr", password=PASSWORD) == staff.appr


def test_unknown_username_is_not_an_error(db):
    assert authenticate(username="nobody", password="whatever") is None
