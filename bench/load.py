"""Load test of the app served by gunicorn on loopback (issue 7 part 5).

Loads N active loans with bench/nightly_batch.py's generator, adds a manager and a marketing officer with K draft loans
that pass submission, runs the nightly batch once (so the portfolio API has a snapshot), starts gunicorn on 127.0.0.1
with production settings, and then, for each number of concurrent clients, measures in turn for a fixed duration:

    floor        GET /healthz                                   a bare view returning a constant (no DB, no session)
    floor+login  GET /healthz                                   the same with the session cookie (session, user, posts read)
    work queue   GET /                                          the marketing officer's queue (K drafts, 50 a page)
    loan page    GET /loans/<id>/                               one of the officer's drafts
    transition   POST /api/loans/<id>/transitions/submit/       a fresh draft each time (token auth)
    portfolio    GET /api/reports/portfolio/                    the manager's figures (token auth)

Each client is a thread with its own http.client connection (kept alive when the server allows it; gunicorn's sync
worker closes after each response, so the client reconnects) and its own logged-in session.

Two kinds of run:

- closed loop (``--clients``): each client sends its next request as soon as the last is answered, endpoint by
  endpoint; prints requests per second at saturation, median and p95, errors, the ratio to the floor and CPU
  milliseconds per request (server, database, client). For reference: people do not send requests like that.
- people (``--pause S``, issue 14): ``--users`` simulated users, each pausing S seconds on average (uniformly
  0.5–1.5 × S) between requests, going round the mix work queue → loan page → transition → portfolio, for
  ``--soak-minutes`` (one minute by default); prints p95 per page and for the transition, errors, and the workers'
  memory every 10 s. Without ``--pause`` a soak is the closed-loop mix of ``--soak-clients``.

    .venv/bin/python bench/load.py --loans 1000000 --clients 10 --seconds 20 --pause 2 --soak-minutes 10
    .venv/bin/python bench/load.py --reuse --clients --pause 2 --users 50 --soak-minutes 10   # people only
    .venv/bin/python bench/load.py --reuse --clients 10 50 --seconds 20                     # closed loop only

Uses its own database (default postgres://postgres@127.0.0.1:5432/lc_load), never the app's; no Redis.
Target (issue 14) at 1,000,000 loans on a 2-core machine, 50 users pausing 2 s: p95 < 150 ms for every page and
< 300 ms for the transition, no error, the workers' memory flat (±10 %) over a 10-minute soak. The closed-loop
figures carry no target any more (the earlier one, the loan page at half the floor's throughput, is withdrawn).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from nightly_batch import generate, setup  # noqa: E402  (the batch benchmark's generator)

HOST = "127.0.0.1"
PASSWORD = "load-Test-pw-2026"
MARKETING, MANAGER = "load_marketing", "load_manager"
TIMEOUT = 30  # seconds per request: a stuck server fails the request, never the benchmark


# ---------------------------------------------------------------------------------------------------------------
# Data


def load_data(n: int, drafts: int, as_of: date) -> None:
    """The generator's N active loans, our two users with tokens, K drafts that pass submit, one nightly run."""

    from postloan.tasks import batch_start

    seconds = generate(n, 12, as_of)
    print(f"generated {n:,} active loans × 12 installments in {seconds:.1f} s")
    ensure_users()
    top_up_drafts(drafts)
    started = time.perf_counter()
    run = batch_start(as_of=as_of)
    assert run.status == "done", run.error
    print(f"nightly batch as of {as_of}: {run.loans:,} loans in {time.perf_counter() - started:.1f} s")
    vacuum()


def vacuum(*tables: str) -> None:
    """VACUUM ANALYZE (the whole database, or these tables): what autovacuum does to a live database after a load.

    Without it the visibility map of freshly inserted rows is empty and every index-only scan (the work queue's
    counts) visits the heap row by row, which a production database long past its loading never does.
    """
    from django.db import connection

    with connection.cursor() as cur:
        for table in tables or ("",):
            cur.execute(f"VACUUM ANALYZE {table}")


def ensure_users() -> dict[str, str]:
    """The manager and the marketing officer (created once through staff_create) and their API tokens."""
    from rest_framework.authtoken.models import Token

    from loancenter import posts as P
    from loancenter.models import User
    from loancenter.services import staff_create

    tokens = {}
    for username, post in ((MARKETING, P.MARKETING), (MANAGER, P.MANAGER)):
        user = User.objects.filter(username=username).first()
        if user is None:
            user = staff_create(username=username, posts=[post], password=PASSWORD, full_name=username)
        tokens[username] = Token.objects.get_or_create(user=user)[0].key
    return tokens


def top_up_drafts(target: int) -> int:
    """Insert drafts for the marketing officer until K wait in their queue (oldest first, one second apart)."""
    from django.db import connection

    from applications.models import Customer, Loan, Product, Status
    from loancenter.lib.idcard import make_id_number
    from loancenter.models import User

    officer = User.objects.get(username=MARKETING)
    product = Product.objects.get(code="bench")  # the generator's: no required documents, unsecured, 1–360 months
    customer = Customer.objects.filter(name="load borrower").first() or Customer.objects.create(
        name="load borrower", id_number=make_id_number("110101", date(1985, 6, 1), 2), phone="13900000000",
        monthly_income=20000, officer=officer)
    have = Loan.objects.filter(marketing_officer=officer, status=Status.DRAFT).count()
    missing = max(0, target - have)
    if missing:
        with connection.cursor() as cur:
            cur.execute(
                """
                INSERT INTO applications_loan (application_no, amount, term_months, repayment_method, purpose,
                    purpose_detail, long_term_reason, interviewed_on, credit_authorised, status, stage_reached, created_at,
                    status_changed_at, review_opinion, proposed_method, approved_method, outstanding_principal,
                    collection_tier, grade, restructured, customer_id, marketing_officer_id, product_id,
                    manual_grade, provision, rate_type, decision_reason, approved_guarantee, verified_id_number,
                    verified_civil_capacity, version, repricing_rule, rating, rating_reasons, rating_facts)
                SELECT 'LD' || nextval(pg_get_serial_sequence('applications_loan', 'id')), 50000, 12, 'equal_principal',
                       'home_renovation', '', '', CURRENT_DATE, true, 'draft', 0, now(),
                       now() - (%(m)s - g) * INTERVAL '1 second', '', '', '', 0, '', '', false,
                       %(cust)s, %(user)s, %(prod)s, '', 0, '', '', '{}', '', '', 1, '', '', '[]', '{}'
                  FROM generate_series(1, %(m)s) AS g
                """,
                {"m": missing, "cust": customer.pk, "user": officer.pk, "prod": product.pk},
            )
        vacuum("applications_loan")
    check_a_draft_passes_submit(officer)
    return missing


def check_a_draft_passes_submit(officer) -> None:
    """Submit the newest draft through the real service and roll back: the transition phase must not measure refusals."""
    from django.db import transaction

    from applications.models import Loan, Status
    from applications.services import loan_submit

    loan = Loan.objects.filter(marketing_officer=officer, status=Status.DRAFT).order_by("-id").first()
    with transaction.atomic():
        assert loan_submit(loan_id=loan.pk, actor=officer).status == Status.SUBMITTED
        transaction.set_rollback(True)


def draft_ids(limit: int) -> list[int]:
    from applications.models import Loan, Status

    return list(
        Loan.objects.filter(marketing_officer__username=MARKETING, status=Status.DRAFT)
        .order_by("status_changed_at", "id").values_list("id", flat=True)[:limit]
    )


# ---------------------------------------------------------------------------------------------------------------
# Server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def audit_key() -> str:
    """The key this process (setup(): DEBUG's development key unless AUDIT_HMAC_KEY is set) wrote the chain with."""
    from django.conf import settings

    return settings.AUDIT_HMAC_KEY


def start_server(db_url: str, workers: int | None, threads: int | None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "DEBUG": "0", "SECRET_KEY": "load-test-" + "x" * 50,
           "AUDIT_HMAC_KEY": audit_key(),
           "ALLOWED_HOSTS": HOST, "SECURE_SSL_REDIRECT": "0", "SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0",
           "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "loancenter.settings"}
    env.pop("REDIS_URL", None)
    # The production settings of gunicorn.conf.py (read from ROOT), served on loopback; flags only for an experiment.
    cmd = [sys.executable, "-m", "gunicorn", "loancenter.wsgi", "-b", f"{HOST}:{port}", "--log-level", "warning"]
    if workers:
        cmd += ["-w", str(workers)]
    if threads:
        cmd += ["--threads", str(threads)]
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)  # the access log, as written in production
    for _ in range(150):  # up to 30 s
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                break
        except OSError:
            pass
        time.sleep(0.2)
    else:
        server.terminate()
        raise SystemExit("gunicorn did not answer /healthz within 30 s")
    # Every worker imports the app lazily on its first request: warm them all before measuring.
    warm = [threading.Thread(target=_get_healthz, args=(port,)) for _ in range(4 * len(worker_pids(server.pid)))]
    for thread in warm:
        thread.start()
    for thread in warm:
        thread.join()
    return server, port


def _get_healthz(port: int) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
    conn.request("GET", "/healthz")
    conn.getresponse().read()
    conn.close()


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def worker_rss_kib(master: int) -> list[int]:
    """VmRSS of each child of the gunicorn master (its workers), from /proc."""
    sizes = []
    for pid in worker_pids(master):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue  # a worker restarting between the two reads
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        if match:
            sizes.append(int(match.group(1)))
    return sizes


def worker_pids(master: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{master}/task").iterdir():
        children += (task / "children").read_text().split()
    return [int(pid) for pid in children]


def db_backend_pids(db_url: str) -> list[int]:
    """The PostgreSQL backends connected to the load database (the workers' persistent connections)."""
    import psycopg2

    conn = psycopg2.connect(db_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """utime + stime of each process, from /proc (a process gone between two reads is left out)."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


class CpuMeter:
    """CPU time of gunicorn's workers, of the database backends serving them and of this client, over a phase."""

    def __init__(self, master: int, db_url: str):
        self.master, self.db_url = master, db_url

    def __enter__(self):
        self.server = cpu_seconds(worker_pids(self.master))
        self.db = cpu_seconds(db_backend_pids(self.db_url))
        self.client = time.process_time()
        return self

    def __exit__(self, *exc):
        def spent(before: dict[int, float], after: dict[int, float]) -> float:
            return sum(after[pid] - before.get(pid, 0.0) for pid in after)

        self.result = {
            "server": spent(self.server, cpu_seconds(worker_pids(self.master))),
            "db": spent(self.db, cpu_seconds(db_backend_pids(self.db_url))),
            "client": time.process_time() - self.client,
        }
        return False


# ---------------------------------------------------------------------------------------------------------------
# Clients


class Client:
    """One keep-alive connection with its own session cookie (pages) or token (API)."""

    def __init__(self, port: int, token: str | None = None):
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
        self.cookies: dict[str, str] = {}
        self.token = token

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()  # reconnect once: the server may have closed an idle keep-alive connection
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=TIMEOUT)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, data

    def login(self, username: str) -> None:
        status, page = self.request("GET", "/accounts/login/")
        assert status == 200, status
        csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        body = urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf, "next": "/"})
        status, _ = self.request("POST", "/accounts/login/", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://{HOST}:{self.port}/accounts/login/"})
        assert status == 302 and "sessionid" in self.cookies, f"login of {username} failed: {status}"


@dataclass
class Endpoint:
    name: str
    method: str
    path: object  # a str, or a callable returning the next path (None when the supply is exhausted)
    auth: str  # "none", "session" (the marketing officer), "token:<username>"
    ok: tuple[int, ...] = (200,)


@dataclass
class Result:
    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds spent in the phase: server, db, client

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))]

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")


class Supply:
    """Fresh draft ids for the transition, handed out once each across threads."""

    def __init__(self, ids: list[int]):
        self.ids = iter(ids)
        self.lock = threading.Lock()

    def __call__(self) -> str | None:
        with self.lock:
            loan_id = next(self.ids, None)
        return None if loan_id is None else f"/api/loans/{loan_id}/transitions/submit/"


def make_clients(port: int, n: int, tokens: dict[str, str]) -> list[dict[str, Client]]:
    """For each simulated user: a logged-in browser session and two token clients."""
    clients = []
    for _ in range(n):
        browser = Client(port)
        browser.login(MARKETING)
        clients.append({"none": Client(port), "session": browser,
                        **{f"token:{name}": Client(port, token) for name, token in tokens.items()}})
    return clients


def run_phase(endpoints: list[Endpoint], clients: list[dict[str, Client]], seconds: float,
              max_requests: int = 1_000_000, pause: float = 0.0) -> dict[str, Result]:
    """Every client loops over the endpoints (one endpoint: a pure phase) until the time is up; with ``pause``, each
    waits 0.5–1.5 × ``pause`` seconds (uniformly, mean ``pause``) before each request, as a person reads a page."""
    results = {e.name: Result(e.name, seconds) for e in endpoints}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client_loop(conns: dict[str, Client], offset: int) -> None:
        local = {e.name: ([], []) for e in endpoints}
        think = random.Random(offset)
        for i in range(max_requests):  # bounded; the deadline normally ends it
            if pause:
                time.sleep(max(0.0, min(think.uniform(0.5 * pause, 1.5 * pause), deadline - time.perf_counter())))
            if time.perf_counter() >= deadline:
                break
            endpoint = endpoints[(i + offset) % len(endpoints)]
            path = endpoint.path() if callable(endpoint.path) else endpoint.path
            if path is None:
                local[endpoint.name][1].append("no fresh draft left")
                break
            headers = {"Accept": "application/json"} if endpoint.auth.startswith("token") else {}
            started = time.perf_counter()
            try:
                status, _body = conns[endpoint.auth].request(endpoint.method, path, body=None, headers=headers)
            except (http.client.HTTPException, OSError) as error:
                local[endpoint.name][1].append(f"{type(error).__name__}: {error}")
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if status in endpoint.ok:
                local[endpoint.name][0].append(elapsed)
            else:
                local[endpoint.name][1].append(f"{endpoint.method} {path} -> {status}")
        with lock:
            for name, (latencies, errors) in local.items():
                results[name].latencies += latencies
                results[name].errors += errors

    threads = [threading.Thread(target=client_loop, args=(conns, k)) for k, conns in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def print_table(title: str, results: list[Result], floor: Result) -> None:
    print(f"\n{title}")
    print(f"  {'endpoint':<12} {'requests':>8} {'req/s':>8} {'median ms':>10} {'p95 ms':>8} {'errors':>7} {'× floor':>8}"
          f"   CPU ms per request: {'server':>6} {'db':>5} {'client':>6}")
    for r in results:
        n = max(1, len(r.latencies))
        cpu = "".join(f" {1000 * r.cpu[k] / n:>{w}.2f}" if k in r.cpu else f" {'-':>{w}}"  # the soak does not meter
                      for k, w in (("server", 6), ("db", 5), ("client", 6)))
        print(f"  {r.name:<12} {len(r.latencies):>8} {r.rps:>8.1f} {r.median:>10.1f} {r.percentile(0.95):>8.1f} "
              f"{len(r.errors):>7} {r.rps / floor.rps if floor.rps else 0:>8.2f}                      {cpu}")
    for r in results:
        for error in sorted(set(r.errors))[:3]:
            print(f"    {r.name} error: {error} (×{r.errors.count(error)})")


# ---------------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000, help="active loans from the batch generator")
    parser.add_argument("--drafts", type=int, default=20_000, help="the marketing officer's drafts (kept topped up)")
    parser.add_argument("--reuse", action="store_true", help="skip loading; only top the drafts up again")
    parser.add_argument("--clients", type=int, nargs="*", default=[10, 50],
                        help="closed-loop client counts (none: skip the closed-loop phases)")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each endpoint's phase")
    parser.add_argument("--workers", type=int, help="override gunicorn.conf.py's worker count (two per core)")
    parser.add_argument("--threads", type=int, help="override gunicorn.conf.py's sync workers with N threads each")
    parser.add_argument("--endpoints", nargs="+", metavar="NAME",
                        help="measure only these (e.g. floor 'loan page'); the floor is always measured")
    parser.add_argument("--soak-minutes", type=float, default=0, help="instead of the phases: mixed load, RSS every 10 s")
    parser.add_argument("--soak-clients", type=int, default=10, help="closed-loop soak (without --pause): clients")
    parser.add_argument("--pause", type=float, default=0,
                        help="people: each simulated user pauses this many seconds (mean) between requests")
    parser.add_argument("--users", type=int, default=50, help="people: simulated users (with --pause)")
    parser.add_argument("--db", default=os.environ.get("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lc_load"))
    args = parser.parse_args()
    assert all(1 <= c <= 200 for c in args.clients) and 0 < args.seconds <= 600 and args.soak_minutes <= 120
    assert 0 <= args.pause <= 60 and 1 <= args.users <= 500
    if args.pause and not args.soak_minutes:
        args.soak_minutes = 1.0

    setup(args.db)
    from applications.models import Loan

    as_of = date.today() - timedelta(days=1)
    if args.reuse:
        added = top_up_drafts(args.drafts)
        print(f"reusing the loaded data; {added:,} drafts added to keep {args.drafts:,} in the queue")
    else:
        load_data(args.loans, args.drafts, as_of)
    tokens = ensure_users()
    fresh = draft_ids(args.drafts)
    # The transition takes the oldest drafts; the loan page reads among the newest (never submitted during the run).
    loan_pages = fresh[-1000:]
    supply = Supply(fresh[: max(0, len(fresh) - 1000)])
    rng = random.Random(7)

    server, port = start_server(args.db, args.workers, args.threads)
    try:
        load = os.getloadavg()
        setup_text = f"-w {args.workers or len(worker_pids(server.pid))}" + (f" --threads {args.threads}" if args.threads else "")
        print(f"\n{Loan.objects.count():,} loans, {len(fresh):,} drafts in the officer's queue; gunicorn {setup_text} "
              f"(gunicorn.conf.py{' overridden' if args.workers or args.threads else ''}) on {HOST}:{port}; DEBUG off, PostgreSQL, no Redis; "
              f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        floor = Endpoint("floor", "GET", "/healthz", "none")
        endpoints = [
            # The floor's constant view asked with the session cookie: what being logged in costs before a page reads
            # or draws anything (session, user and posts). No page that needs a login can be faster than this.
            Endpoint("floor+login", "GET", "/healthz", "session"),
            Endpoint("work queue", "GET", "/", "session"),
            Endpoint("loan page", "GET", lambda: f"/loans/{rng.choice(loan_pages)}/", "session"),
            Endpoint("transition", "POST", supply, f"token:{MARKETING}", ok=(200, 201)),
            Endpoint("portfolio", "GET", f"/api/reports/portfolio/?as_of={as_of}", f"token:{MANAGER}"),
        ]
        if args.clients:
            closed_loop(server.pid, port, tokens, floor, endpoints, args)
        if args.soak_minutes:
            mix = [e for e in endpoints if e.name != "floor+login"] if args.pause else [floor, *endpoints]
            soak(server.pid, port, tokens, mix, args)
        load = os.getloadavg()
        print(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    finally:
        stop_server(server)


def closed_loop(master: int, port: int, tokens: dict[str, str], floor: Endpoint, endpoints: list[Endpoint],
                args) -> None:
    """Each endpoint at saturation, at every client count, with CPU per request: reference figures."""
    # Each endpoint at every client count back to back, so that a change in the machine's background load
    # (another test suite starting) skews both counts alike rather than one whole table.
    clients = {n: make_clients(port, n, tokens) for n in args.clients}
    for n in args.clients:
        run_phase(endpoints, clients[n], min(3.0, args.seconds))  # warm-up: templates, connections, caches
    figures: dict[int, dict[str, Result]] = {n: {} for n in args.clients}
    if args.endpoints:
        endpoints = [e for e in endpoints if e.name in args.endpoints]
    for endpoint in [floor, *endpoints]:
        for n in args.clients:
            with CpuMeter(master, args.db) as meter:
                result = run_phase([endpoint], clients[n], args.seconds)[endpoint.name]
            result.cpu = meter.result
            figures[n][endpoint.name] = result
    for n, results in figures.items():
        print_table(f"{n} concurrent clients, {args.seconds:g} s per endpoint", list(results.values()), results["floor"])
    errors = sum(len(r.errors) for results in figures.values() for r in results.values())
    print(f"\nclosed loop (reference, no target): {errors} errors")


def soak(master: int, port: int, tokens: dict[str, str], endpoints: list[Endpoint], args) -> None:
    """Mixed load for N minutes; every 10 s the workers' RSS (sum over the master's children). With ``--pause``:
    ``--users`` people pausing between requests, and the verdicts against issue 14's target."""
    pause = args.pause
    clients = make_clients(port, args.users if pause else args.soak_clients, tokens)
    run_phase(endpoints, clients, 20.0, pause=pause)  # warm-up: the first sample is taken with every code path loaded
    samples: list[tuple[float, int, int]] = []
    totals = {e.name: Result(e.name, 0) for e in endpoints}
    started = time.perf_counter()
    end = started + args.soak_minutes * 60
    who = (f"{len(clients)} users pausing {pause:g} s (0.5–1.5 ×) between requests" if pause
           else f"{len(clients)} clients without pause (closed loop)")
    print(f"\nsoak: {who}, mix {' → '.join(e.name for e in endpoints)}, {args.soak_minutes:g} min; "
          f"workers' RSS every 10 s")
    while time.perf_counter() < end:
        sizes = worker_rss_kib(master)
        samples.append((time.perf_counter() - started, sum(sizes), len(sizes)))
        print(f"  t={samples[-1][0]:6.0f} s  workers {len(sizes)}  RSS {sum(sizes) / 1024:8.1f} MiB  "
              f"({', '.join(f'{s / 1024:.0f}' for s in sizes)})", flush=True)
        chunk = run_phase(endpoints, clients, min(10.0, max(0.1, end - time.perf_counter())), pause=pause)
        for name, r in chunk.items():
            totals[name].latencies += r.latencies
            totals[name].errors += r.errors
            totals[name].seconds += r.seconds
    sizes = worker_rss_kib(master)
    samples.append((time.perf_counter() - started, sum(sizes), len(sizes)))
    print(f"  t={samples[-1][0]:6.0f} s  workers {len(sizes)}  RSS {sum(sizes) / 1024:8.1f} MiB")
    for r in totals.values():
        r.seconds = time.perf_counter() - started  # mixed: every endpoint ran during the whole soak
    if pause:
        print_people(totals.values(), pause)
    else:
        print_table("soak totals (mixed load)", list(totals.values()), totals["floor"])
    first, last, peak = samples[0][1], samples[-1][1], max(s[1] for s in samples)
    change = last / first - 1
    print(f"\nworkers' RSS: first {first / 1024:.1f} MiB, last {last / 1024:.1f} MiB, max {peak / 1024:.1f} MiB, "
          f"change {change:+.1%} (flat within ±10 %: {'ok' if abs(change) <= 0.10 else 'MISSED'}); "
          f"worker count first/last {samples[0][2]}/{samples[-1][2]}")


P95_TARGET_MS = {"transition": 300.0}  # issue 14; every page: PAGE_P95_TARGET_MS
PAGE_P95_TARGET_MS = 150.0


def print_people(results, pause: float) -> None:
    """The people-modelled run against issue 14's target: p95 per page and for the transition, errors."""
    results = list(results)
    offered = sum(len(r.latencies) + len(r.errors) for r in results) / max(r.seconds for r in results)
    print(f"\npeople pausing {pause:g} s: {offered:.1f} requests a second in all")
    print(f"  {'endpoint':<12} {'requests':>8} {'req/s':>7} {'median ms':>10} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'errors':>7}  target")
    for r in results:
        target = P95_TARGET_MS.get(r.name, PAGE_P95_TARGET_MS)
        p95 = r.percentile(0.95)
        verdict = "ok" if p95 < target and not r.errors else "MISSED"
        print(f"  {r.name:<12} {len(r.latencies):>8} {r.rps:>7.1f} {r.median:>10.1f} {p95:>8.1f} "
              f"{r.percentile(0.99):>8.1f} {max(r.latencies, default=float('nan')):>8.1f} {len(r.errors):>7}  "
              f"p95 < {target:g} ms, 0 errors: {verdict}")
    for r in results:
        for error in sorted(set(r.errors))[:3]:
            print(f"    {r.name} error: {error} (×{r.errors.count(error)})")


if __name__ == "__main__":
    main()
