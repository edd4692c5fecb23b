"""Benchmark of the global search (issue 15 part 12) on PostgreSQL: p95 < 300 ms at 1,000,000 loans.

Takes a database that already holds a loan book (by default ``lc_search``, a copy of bench/load.py's ``lc_load``:
``createdb -T lc_load lc_search``; or ``--loans N`` to generate one with bench/nightly_batch.py's generator), runs the
migrations on it (the search indexes), then gives the book what the generators leave out: ``--customers`` borrowers
with Chinese names, ID and phone numbers (the loans spread over them), a loan contract per active loan, and three
readers — a manager (every loan), a marketing officer who handles one loan in fifty, and an investigator (the loans
in or past their step). Then, for each reader, times ``--queries`` searches of each kind through the page
``/search/?q=…`` (Django's test client: the view, the queries, the template; no network) and prints median, p95 and
the slowest per kind, and the p95 over every search.

    .venv/bin/python bench/search.py                                 # lc_search as it is (prepared once)
    .venv/bin/python bench/search.py --db postgres://postgres@127.0.0.1:5432/lc_search --customers 300000
    .venv/bin/python bench/search.py --db postgres://postgres@127.0.0.1:5432/lc_search_small --loans 100000

Never the app's database.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from nightly_batch import generate, setup  # noqa: E402

TARGET_P95_MS = 300
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = ("伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国飞宇浩然子轩梓涵欣怡思远嘉琪雨欣"
         "晨阳志强海燕春梅文博俊杰佳慧婷婷晓东永刚凤英秋菊德华振宇天佑若曦锦程")


def prepare(customers: int) -> None:
    """Borrowers and contracts, once (a book with ``customers`` customers or more is taken as prepared)."""
    from django.db import connection

    from applications.models import Customer
    from loancenter import posts as P
    from loancenter.models import User
    from loancenter.services import staff_create

    if Customer.objects.count() >= customers:  # prepared before
        return
    started = time.perf_counter()
    officer = User.objects.filter(username="bench").first() or staff_create(username="bench", posts=[P.MARKETING])
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # bench data, consistent by construction
        # Names: a surname and one or two given characters, drawn from the md5 of the row number (deterministic).
        cur.execute(
            """
            INSERT INTO applications_customer (name, id_number, phone, address, employer, occupation, monthly_income,
                monthly_debt_payment, civil_capacity, on_warning_list, birth_date, gender, created_at, officer_id,
                version, unit_id, region)
            SELECT substr(%(s)s, 1 + (get_byte(h, 0) * 256 + get_byte(h, 1)) %% length(%(s)s), 1)
                   || substr(%(g)s, 1 + (get_byte(h, 2) * 256 + get_byte(h, 3)) %% length(%(g)s), 1)
                   || CASE WHEN g %% 4 = 0 THEN ''
                           ELSE substr(%(g)s, 1 + (get_byte(h, 4) * 256 + get_byte(h, 5)) %% length(%(g)s), 1) END,
                   '110102' || to_char(date '1960-01-01' + (g %% 14000)::int, 'YYYYMMDD')
                       || lpad((g / 14000)::text, 3, '0') || CASE WHEN g %% 11 = 0 THEN 'X' ELSE (g %% 10)::text END,
                   '13' || lpad(((g * 982451653) %% 1000000000)::text, 9, '0'),
                   '', '', '', 10000, 0, 'full', false, date '1960-01-01' + (g %% 14000)::int, 'M', now(), %(officer)s, 1,
                   'CENTER', ''
              FROM generate_series(1::bigint, %(n)s) AS g, LATERAL (SELECT decode(md5(g::text), 'hex') AS h) AS d
            """,
            {"s": SURNAMES, "g": GIVEN, "n": customers, "officer": officer.pk},
        )
        cur.execute("SELECT min(id) FROM applications_customer WHERE name <> 'bench'")
        first = cur.fetchone()[0]
        # Every loan to one of them (some customers have several loans, some none).
        cur.execute("UPDATE applications_loan SET customer_id = %s + (id * 48271) %% %s", [first, customers])
        cur.execute("DELETE FROM disbursement_contract")
        cur.execute(
            """
            INSERT INTO disbursement_contract (kind, contract_no, signed_on, signed_in_person, effective_on, recorded_at,
                loan_id, recorded_by_id)
            SELECT 'loan', 'HT-' || to_char(created_at, 'YYYY') || '-' || lpad(id::text, 8, '0'), current_date, true,
                   current_date, now(), id, %s
              FROM applications_loan WHERE status = 'active'
            """,
            [officer.pk],
        )
        cur.execute("SET session_replication_role = DEFAULT")
        cur.execute("ANALYZE applications_customer")
        cur.execute("ANALYZE applications_loan")
        cur.execute("ANALYZE disbursement_contract")
    print(f"prepared {customers:,} customers and the loan contracts in {time.perf_counter() - started:.1f} s")


def readers():
    from django.db import connection

    from loancenter import posts as P
    from loancenter.models import User
    from loancenter.services import staff_create

    people = {}
    for username, post in (("bench_search_manager", P.MANAGER), ("bench_search_officer", P.MARKETING),
                           ("bench_search_investigator", P.INVESTIGATOR)):
        people[username] = User.objects.filter(username=username).first() or staff_create(
            username=username, posts=[post])
    officer = people["bench_search_officer"]
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM applications_loan WHERE marketing_officer_id = %s", [officer.pk])
        if cur.fetchone()[0] == 0:
            cur.execute("UPDATE applications_loan SET marketing_officer_id = %s WHERE id %% 50 = 7", [officer.pk])
            cur.execute("ANALYZE applications_loan")
    return list(people.values())


def samples(rng: random.Random, n: int) -> dict[str, list[str]]:
    """``n`` queries of each kind, drawn from the book."""
    from django.db import connection

    def column(sql: str) -> list[str]:
        with connection.cursor() as cur:
            cur.execute(sql)
            return [row[0] for row in cur.fetchall()]

    customers = column("SELECT name FROM applications_customer TABLESAMPLE SYSTEM (1) WHERE length(name) = 3 LIMIT 2000")
    ids = column("SELECT id_number FROM applications_customer TABLESAMPLE SYSTEM (1) LIMIT 2000")
    phones = column("SELECT phone FROM applications_customer TABLESAMPLE SYSTEM (1) LIMIT 2000")
    loans = column("SELECT application_no FROM applications_loan TABLESAMPLE SYSTEM (0.1) LIMIT 2000")
    contracts = column("SELECT contract_no FROM disbursement_contract TABLESAMPLE SYSTEM (0.1) LIMIT 2000")

    def fullwidth(text: str) -> str:
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)

    return {
        "full name": [rng.choice(customers) for _ in range(n)],
        "name start (2 chars)": [rng.choice(customers)[:2] for _ in range(n)],
        "ID ending (6)": [rng.choice(ids)[-6:] for _ in range(n)],
        "phone ending (4)": [rng.choice(phones)[-4:] for _ in range(n)],
        "phone ending (4, full-width)": [fullwidth(rng.choice(phones)[-4:]) for _ in range(n)],
        "application no.": [rng.choice(loans) for _ in range(n)],
        "contract no. (lower case)": [rng.choice(contracts).lower() for _ in range(n)],
    }


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(p * len(ordered))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=os.environ.get("SEARCH_DATABASE_URL",
                                                      "postgres://postgres@127.0.0.1:5432/lc_search"))
    parser.add_argument("--loans", type=int, default=0, help="generate a book of N loans first (default: use the one there)")
    parser.add_argument("--customers", type=int, default=300_000)
    parser.add_argument("--queries", type=int, default=40, help="searches of each kind for each reader")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    # Production settings (cached templates, no query log), as bench/load.py serves them; HTTP, not HTTPS.
    os.environ.update({"DEBUG": "0", "SECRET_KEY": "search-bench-" + "x" * 50, "AUDIT_HMAC_KEY": "search-bench-key",
                       "SECURE_SSL_REDIRECT": "0", "SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0"})
    setup(args.db)

    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from applications.models import Customer, Loan
    from loancenter import search as S

    if args.loans:
        seconds = generate(args.loans, 12, date.today() - timedelta(days=1))
        print(f"generated {args.loans:,} loans in {seconds:.1f} s")
    prepare(args.customers)
    people = readers()
    loans, customers = Loan.objects.count(), Customer.objects.count()
    with connection.cursor() as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'applications_customer' ORDER BY 1")
        indexes = [row[0] for row in cur.fetchall()]
    print(f"book: {loans:,} loans, {customers:,} customers; customer indexes: {', '.join(indexes)}")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    rng = random.Random(args.seed)
    queries = samples(rng, args.queries)
    every: list[float] = []
    queries_only: list[float] = []
    print("page = GET /search/?q=… through the test client; search() = the selector alone (its queries, no template)")
    print(f"{'reader':<27} {'query kind':<29} {'found':>6} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} "
          f"{'search() p95':>13}")
    for user in people:
        client = Client()
        client.force_login(user)
        client.get("/search/", {"q": "王伟"})  # warm: the session, the templates
        for kind, texts in queries.items():
            times, found, selector = [], 0, []
            for text in texts:
                started = time.perf_counter()
                S.search(user, text)
                selector.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                response = client.get("/search/", {"q": text})
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (text, response.status_code)
                found += response.content.decode().split('data-testid="search-loans"')[-1].count("data-loan=")
            every += times
            queries_only += selector
            print(f"{user.username:<27} {kind:<29} {found / len(texts):>6.1f} {statistics.median(times):>10.1f} "
                  f"{pct(times, 0.95):>8.1f} {max(times):>8.1f} {pct(selector, 0.95):>13.1f}")
    p95 = pct(every, 0.95)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"all {len(every)} searches: median {statistics.median(every):.1f} ms, p95 {p95:.1f} ms, "
          f"max {max(every):.1f} ms (target p95 < {TARGET_P95_MS} ms at 1,000,000 loans: "
          f"{'met' if p95 < TARGET_P95_MS else 'MISSED'} at {loans:,} loans)")
    print(f"search() alone: median {statistics.median(queries_only):.1f} ms, p95 {pct(queries_only, 0.95):.1f} ms")
    # The database's own time, which the machine's load hardly inflates: each search's queries replayed under EXPLAIN
    # ANALYZE (warm cache), their execution times summed per search.
    import re

    from django.test.utils import CaptureQueriesContext

    print("database time per search (EXPLAIN ANALYZE of its queries, summed; 10 searches per kind and reader):")
    db_all: list[float] = []
    for user in people:
        for kind, texts in queries.items():
            per_search = []
            for text in texts[:10]:
                with CaptureQueriesContext(connection) as captured:
                    S.search(user, text)
                total = 0.0
                with connection.cursor() as cur:
                    for q in captured.captured_queries:
                        cur.execute("EXPLAIN ANALYZE " + q["sql"])
                        total += float(re.search(r"Execution Time: ([0-9.]+)", cur.fetchall()[-1][0]).group(1))
                per_search.append(total)
            db_all += per_search
            print(f"  {user.username:<27} {kind:<29} median {statistics.median(per_search):6.2f} ms, "
                  f"max {max(per_search):6.2f} ms")
    print(f"database time over every search: p95 {pct(db_all, 0.95):.2f} ms, max {max(db_all):.2f} ms")

if __name__ == "__main__":
    main()
