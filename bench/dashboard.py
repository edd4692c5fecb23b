"""Benchmark of the manager's dashboard, the portfolio API and a drill-down page (issue 6).

Loads N loans with bench/nightly_batch.py's generator, runs the nightly batch once so the day's snapshot exists, then
times 50 requests of each page through the Django test client logged in as a manager, and prints median and p95.

    .venv/bin/python bench/dashboard.py --loans 100000
    .venv/bin/python bench/dashboard.py --loans 1000000
    .venv/bin/python bench/dashboard.py --reuse          # time again on the data already loaded

Uses its own database (default postgres://postgres@127.0.0.1:5432/lc_bench_dashboard), never the app's.
Targets on a 2-core machine with PostgreSQL: p95 < 150 ms for the dashboard, < 100 ms for a drill-down page.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nightly_batch import generate, setup  # noqa: E402  (the batch benchmark's generator)

REQUESTS = 50


def timed(client, url: str, n: int = REQUESTS) -> tuple[float, float]:
    client.get(url)  # warm-up: template compilation, connection
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(round(0.95 * len(samples))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--installments", type=int, default=12)
    parser.add_argument("--reuse", action="store_true", help="skip loading: time the data already in the database")
    parser.add_argument("--db", default=os.environ.get("BENCH_DATABASE_URL",
                                                      "postgres://postgres@127.0.0.1:5432/lc_bench_dashboard"))
    args = parser.parse_args()
    setup(args.db)

    from django.conf import settings
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client

    from applications.models import Loan
    from loancenter import posts as P
    from loancenter.models import User
    from postloan.tasks import batch_start

    as_of = date.today() - timedelta(days=1)
    if not args.reuse:
        seconds = generate(args.loans, args.installments, as_of)
        print(f"generated {args.loans:,} loans × {args.installments} installments in {seconds:.1f} s")
        started = time.perf_counter()
        run = batch_start(as_of=as_of)
        assert run.status == "done", run.error
        print(f"nightly batch as of {as_of}: {run.loans:,} loans in {time.perf_counter() - started:.1f} s")
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    loans = Loan.objects.count()

    # The test client's host, without setup_test_environment(): its instrumented template rendering copies the
    # context on every include and would time the instrumentation, not the page.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    manager, _ = User.objects.get_or_create(username="bench_manager")
    manager.groups.add(Group.objects.get_or_create(name=P.MANAGER)[0])
    client = Client()
    client.force_login(manager)
    pages = [
        ("dashboard", f"/dashboard/?as_of={as_of}", 150),
        ("portfolio API", f"/api/reports/portfolio/?as_of={as_of}", 150),
        ("drill-down: non-performing", "/reports/loans/?status=active&grade=substandard&grade=doubtful&grade=loss", 100),
        ("drill-down: overdue, page 3", "/reports/loans/?status=active&dpd_min=1&page=3", 100),
    ]
    print(f"{loans:,} loans, {REQUESTS} requests each, Django test client, database {connection.vendor}")
    for name, url, target in pages:
        median, p95 = timed(client, url)
        verdict = "ok" if p95 < target else "OVER TARGET"
        print(f"  {name:<30} median {median:7.1f} ms   p95 {p95:7.1f} ms   (target p95 < {target} ms: {verdict})")


if __name__ == "__main__":
    main()
