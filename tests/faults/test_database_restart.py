"""PostgreSQL restarted while requests run: requests in flight get a clean 503, and the app recovers by itself.

It restarts the machine's PostgreSQL, so it runs in CI (CI=true) or when FAULT_RESTART_POSTGRES=1 is set.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection, connections
from rest_framework.authtoken.models import Token

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.serial,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)"),
    pytest.mark.skipif(not (os.environ.get("CI") or os.environ.get("FAULT_RESTART_POSTGRES")),
                       reason="restarts the machine's PostgreSQL: runs in CI or with FAULT_RESTART_POSTGRES=1"),
    pytest.mark.skipif(shutil.which("pg_ctlcluster") is None, reason="pg_ctlcluster (Debian's PostgreSQL) not found"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, token: str) -> tuple[int, dict | None]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body)
        except ValueError:
            return error.code, None


def restart_postgres() -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True, timeout=60)


@pytest.mark.django_db(transaction=True)
def test_requests_during_a_postgres_restart_get_503_and_the_app_recovers(staff, draft):
    token = Token.objects.create(user=staff.mkt).key
    db = connection.settings_dict
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "DEBUG": "1", "LOG_LEVEL": "ERROR", "DB_CONN_MAX_AGE": "60"}
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "loancenter.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "4",
         "--timeout", "30"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/loans/{draft.pk}/"
    statuses: list[int] = []
    bodies: list[dict | None] = []
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            try:
                status, body = get(url, token)
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:  # the server itself must stay up
                statuses.append(-1)
                bodies.append({"error": repr(exc)})
                continue
            statuses.append(status)
            bodies.append(body)
            time.sleep(0.02)

    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if get(url, token)[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        restart_postgres()
        time.sleep(2.0)
        stop.set()
        for t in threads:
            t.join(30)
        # Recovery: without anyone restarting the app, requests succeed again.
        recovered = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status, body = get(url, token)
            if status == 200:
                recovered = body
                break
            time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(20)
        connections.close_all()  # this test's own connection died with the restart; reopen for teardown

    counts = {s: statuses.count(s) for s in set(statuses)}
    assert set(counts) <= {200, 503}, counts  # never a 500, never a dropped connection
    assert counts.get(503, 0) > 0, counts  # the restart was hit while requests ran
    failed = [b for s, b in zip(statuses, bodies, strict=True) if s == 503]
    assert all(b and b.get("code") == "service_unavailable" for b in failed)
    assert recovered is not None and recovered["status"] == "draft"
