"""Lock-out and throttle under concurrency, on PostgreSQL (SPEC §16.14; issue 13, finding 11 and part 13).

- A burst of simultaneous guesses gets no more than the allowed number of passwords checked: each attempt is
  reserved (counted) before its password is checked.
- The counters live in the database, so gunicorn's workers share them: failures spread over two workers are
  counted together.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth import authenticate
from django.db import connection
from django.test import RequestFactory

from loancenter.models import RefusedAttempt, User

ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = os.environ.get("DATABASE_URL", "")
ARGON2 = ["django.contrib.auth.hashers.Argon2PasswordHasher"]  # the production hasher: a check costs real time

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not DATABASE_URL.startswith(("postgres://", "postgresql://")),
                       reason="needs PostgreSQL: set DATABASE_URL=postgres://… (CI does)"),
]


def _person(username: str, password: str = "right-pass-2026") -> User:
    user = User(username=username)
    user.set_password(password)
    user.save()
    return user


def _burst(calls: list[tuple[str, str]], address: str) -> list:
    """Run ``authenticate`` for every (username, password) at once, each on its own connection."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def attempt(i: int, username: str, password: str) -> None:
        try:
            request = RequestFactory().post("/accounts/login/", REMOTE_ADDR=address)
            barrier.wait(timeout=20)
            results[i] = authenticate(request, username=username, password=password)
        except Exception as error:  # noqa: BLE001  (asserted below)
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i, *call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not [r for r in results if isinstance(r, Exception)], results
    return results


class CheckCounter:
    """Counts the passwords actually checked (``User.check_password``), from every thread."""

    def __init__(self):
        self.count = 0
        self._lock = threading.Lock()
        self._original = User.check_password

    def __enter__(self):
        counter = self

        def counted(user, raw_password):
            with counter._lock:
                counter.count += 1
            return counter._original(user, raw_password)

        self._patch = mock.patch.object(User, "check_password", counted)
        self._patch.start()
        return self

    def __exit__(self, *exc):
        self._patch.stop()


@pytest.mark.sidedoor(rule="auth", path="service: authenticate() (12 concurrent guesses, one username)")
@pytest.mark.django_db(transaction=True)
def test_a_burst_of_guesses_gets_no_more_than_the_limit_checked(settings):
    assert connection.vendor == "postgresql"
    settings.PASSWORD_HASHERS = ARGON2
    victim = _person("victim")

    with CheckCounter() as checked:
        results = _burst([("victim", f"guess-{i}") for i in range(12)], address="203.0.113.50")

    assert results == [None] * 12
    assert checked.count == settings.LOGIN_MAX_FAILURES  # 5 of the 12 were checked, 7 refused unchecked
    assert authenticate(RequestFactory().post("/", REMOTE_ADDR="203.0.113.50"),
                        username="victim", password="right-pass-2026") is None  # the pair is locked
    assert authenticate(RequestFactory().post("/", REMOTE_ADDR="198.51.100.50"),
                        username="victim", password="right-pass-2026") == victim
    assert RefusedAttempt.objects.filter(code="login_locked").count() == 1


@pytest.mark.sidedoor(rule="auth", path="service: authenticate() (14 concurrent guesses, one address)")
@pytest.mark.django_db(transaction=True)
def test_a_burst_over_many_usernames_gets_no_more_than_the_throttle_checked(settings):
    settings.LOGIN_THROTTLE_RATE = "6/10m"  # fast hashes here (14 users); the reservation does not depend on them
    for i in range(14):
        _person(f"user{i}")

    with CheckCounter() as checked:
        _burst([(f"user{i}", "wrong-pass") for i in range(14)], address="203.0.113.51")

    assert checked.count == 6
    assert RefusedAttempt.objects.filter(code="login_throttled").count() == 1


@pytest.mark.django_db(transaction=True)
def test_simultaneous_right_logins_from_one_address_all_succeed(settings):
    """A double-clicked login form: each success deletes the pair's counter, which the others must survive.

    Up to LOGIN_MAX_FAILURES at once: more, for one username from one address, look exactly like a burst of
    guesses, and those beyond the limit are refused while the first are being checked."""
    person = _person("twice")
    results = _burst([("twice", "right-pass-2026")] * settings.LOGIN_MAX_FAILURES, address="203.0.113.52")
    assert results == [person] * settings.LOGIN_MAX_FAILURES


# --- two gunicorn workers ------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _token(port: int, username: str, password: str) -> int:
    body = json.dumps({"username": username, "password": password}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/auth/token/", data=body,
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _pairs(port: int, calls: list[tuple[str, str]]) -> list[int]:
    """Send the calls two at a time, so that both sync workers are busy at once and each serves some."""
    statuses: list[int] = [0] * len(calls)

    def send(i: int) -> None:
        statuses[i] = _token(port, *calls[i])

    for start in range(0, len(calls), 2):
        threads = [threading.Thread(target=send, args=(i,)) for i in range(start, min(start + 2, len(calls)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    return statuses


@pytest.mark.sidedoor(rule="auth", path="api: POST /api/auth/token/ (two gunicorn workers)")
@pytest.mark.django_db(transaction=True)
def test_two_gunicorn_workers_count_failures_together(settings, tmp_path):
    settings.PASSWORD_HASHERS = ARGON2
    _person("rev2")
    db = connection.settings_dict
    port = _free_port()
    access_log = tmp_path / "access.log"
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "DEBUG": "1", "LOG_LEVEL": "ERROR", "LOGIN_MAX_FAILURES": "4", "LOGIN_THROTTLE_RATE": "10/10m",
           "GUNICORN_ACCESS_LOG": str(access_log)}
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}", "-w", "2",
         "--access-logformat", "%(p)s %(s)s", "loancenter.wsgi"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while _up(port) is False:
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.3)
        access_log.write_text("")  # only the requests below

        # Lock-out: four failures for one username, spread over both workers, lock it from this address.
        assert _pairs(port, [("rev2", f"guess-{i}") for i in range(4)]) == [400] * 4
        assert _token(port, "rev2", "right-pass-2026") == 400  # the fifth: locked, whichever worker answers
        # Throttle: ten failures in all from this address (the refused right password above was the fifth).
        assert _pairs(port, [(f"ghost{i}", "wrong") for i in range(5)]) == [400] * 5
        assert _token(port, "anyone", "wrong") == 429
        assert _token(port, "anyone", "wrong") == 429
    finally:
        server.terminate()
        server.wait(20)

    lines = [line.split() for line in access_log.read_text().splitlines() if line.strip()]
    failures = [pid for pid, status in lines if status == "400"]
    assert len(failures) == 10
    assert len(set(failures)) == 2, f"one worker served every failure: {lines}"  # else the test proves nothing
    assert [status for _pid, status in lines[-2:]] == ["429", "429"]


def _up(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
