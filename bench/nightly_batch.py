"""Benchmark of the nightly batch on PostgreSQL (issue 4).

Builds N active loans with K monthly installments each and a realistic delinquency mix (90 % current, 5 % 1–30 days,
2 % 31–90 days, 3 % over 90 days) with set-based INSERT … SELECT, runs the batch for the day before (untimed warm-up:
the first run grades every loan), flags the loans a day's repayments would have touched (``--paid-share``, default
1/30 of the book: one due date a month per loan) for regrading, takes a checkpoint (so that the generator's WAL is
not flushed during the timed night), then times the nightly run for as-of = yesterday, and
a single bare SQL statement that computes the same days past due for the same loans from their installments. Prints
loans per second, seconds and the ratio, and checks that the days past due the pages show (from each loan's oldest
unpaid due date, as of the run) equal the bare statement's.

    .venv/bin/python bench/nightly_batch.py --loans 100000
    .venv/bin/python bench/nightly_batch.py --loans 1000000 --installments 12
    .venv/bin/python bench/nightly_batch.py --loans 100000 --installments 48   # older books: time per loan stays flat
    .venv/bin/python bench/nightly_batch.py --loans 1000000 --lpr anniversary  # LPR book, ≈1/365 reprices tonight
    .venv/bin/python bench/nightly_batch.py --loans 1000000 --lpr january      # a 1 January night: every loan reprices
    .venv/bin/python bench/nightly_batch.py --loans 1000000 --lpr january --workers 2 --chunk-size 100000
        # ... as docker-compose deploys it: two Celery processes, chunks of 100,000 (.env.example)

``--workers N``: the nights' chunks run on a Celery worker with N processes (``celery -A loancenter worker
--concurrency=N``, as docker-compose deploys it with 2), through Redis (``BENCH_REDIS_URL``, default db 7 of the local
server), instead of one after another in this process; the night is timed from the beat's call to its last chunk's
end, and the steps' shares, measured in the workers, are not printed.

``--lpr`` (issue 19): every loan is LPR-linked (1-year LPR + 90 bp, equal principal; ``--method equal_installment``
for annuity loans). ``anniversary``: each loan's
repricing date is spread over the coming year (tonight for g % 365 = 0, so ≈1/365 of the book); ``january``: every
loan is on the 1 January rule and the timed night is a 1 January (default: this year's). A newer LPR publication is
in force, so each repriced loan gets a new rate and its remaining installments are recomputed.

Uses its own database (default postgres://postgres@127.0.0.1:5432/lc_bench, created if missing); never the app's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def setup(db_url: str, broker: str = "") -> None:
    import psycopg2

    dsn, name = db_url.rsplit("/", 1)
    conn = psycopg2.connect(f"{dsn}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    os.environ["DATABASE_URL"] = db_url
    if broker:  # the chunks go to a Celery worker (start_workers) through this broker
        os.environ["REDIS_URL"] = broker
    else:  # the batch runs its chunks in this process, one after another
        os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loancenter.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def generate(n: int, k: int, as_of: date, spread: bool = True, lpr: str = "", vacuum: bool = False,
             method: str = "equal_principal") -> float:
    """N loans of 100,000 over K months, disbursed 1..K-1 months before as-of; delinquent ones missed 1–11 installments.

    Value dates (so due dates) are spread over the days of the month, as in a real book; ``spread=False`` puts every
    loan's due date on as-of's day of the month, so that every delinquent loan crosses a threshold the same night
    (the worst night for the batch)."""
    from decimal import Decimal

    from django.db import connection

    from applications.models import Customer, Product
    from loancenter.lib.idcard import make_id_number
    from loancenter.models import User

    started = time.perf_counter()
    user, _ = User.objects.get_or_create(username="bench")
    product, _ = Product.objects.get_or_create(
        code="bench", defaults=dict(name="bench", category="consumer", min_amount=1000, max_amount=1000000,
                                    min_term_months=1, max_term_months=360, repayment_methods=["equal_principal"],
                                    min_rate=Decimal("0.01"), max_rate=Decimal("0.2"), max_dti=Decimal("0.5")))
    customer = Customer.objects.filter(name="bench").first() or Customer.objects.create(
        name="bench", id_number=make_id_number("110101", date(1980, 1, 1), 1), phone="13800000000",
        monthly_income=10000, officer=user)
    principal = (Decimal("100000.00") / k).quantize(Decimal("0.01"))
    Product.objects.filter(pk=product.pk).update(rate_type="lpr_1y" if lpr else "fixed")
    with connection.cursor() as cur:
        cur.execute("TRUNCATE postloan_notice, postloan_postloancheck, postloan_signal, postloan_loanmonitoring, "
                    "postloan_funduse, postloan_funduseproof, "
                    "postloan_escalationtask, postloan_collectioncase, postloan_installment, postloan_repayment, "
                    "postloan_repricing, postloan_rateclock, applications_lprpublication, "
                    "postloan_batchchunk, postloan_batchrun, postloan_dailysnapshot, postloan_loanmonthend, "
                    "disbursement_disbursement, disbursement_loanreceipt, disbursement_contract, "
                    "disbursement_collateralregistration, loancenter_auditentry, loancenter_audithead, applications_loan CASCADE")
        # Bulk load without per-row foreign-key triggers (bench data is consistent by construction).
        cur.execute("SET session_replication_role = replica")
        params = {"n": n, "k": k, "d": as_of, "p": principal, "cust": customer.pk, "user": user.pk, "prod": product.pk,
                  "spread": spread, "lpr": lpr, "rule": lpr or "", "method": method}
        shape = """
            (SELECT g, ((g %% (%(k)s - 1)) + 1) AS age, (CASE WHEN %(spread)s THEN g %% 30 ELSE 0 END) AS shift,
                    (CASE WHEN g %% 100 < 90 THEN 0 WHEN g %% 100 < 95 THEN 1 WHEN g %% 100 < 97 THEN 2 ELSE 3 + g %% 9 END) AS missed
               FROM generate_series(1, %(n)s) AS g) AS s
        """
        cur.execute(
            f"""
            INSERT INTO applications_loan (id, application_no, amount, term_months, repayment_method, purpose, purpose_detail,
                long_term_reason, credit_authorised, status, stage_reached, created_at, status_changed_at, review_opinion,
                proposed_method, approved_method, approved_amount, approved_term_months, annual_rate, decided_at,
                outstanding_principal, collection_tier, grade, restructured, customer_id, marketing_officer_id,
                product_id, manual_grade, provision, rate_type, penalty_markup, decision_reason, approved_guarantee,
                verified_id_number, verified_civil_capacity, oldest_unpaid_due, version,
                spread_bp, lpr_at_approval, repricing_rule, rating, rating_reasons, rating_facts)
            SELECT g, 'BENCH' || g, 100000, %(k)s, %(method)s, 'home_renovation', '', '', true, 'active', 10, now(), now(),
                   '', '', %(method)s, 100000, %(k)s, 0.0435, now(),
                   100000 - %(p)s * GREATEST(age - missed, 0), '', 'normal', false, %(cust)s, %(user)s, %(prod)s, '', 0,
                   CASE WHEN %(lpr)s <> '' THEN 'lpr_1y' ELSE 'fixed' END, (SELECT penalty_markup FROM applications_product WHERE id = %(prod)s), '', '{{}}', '', '',
                   (CAST(%(d)s AS DATE) - age * INTERVAL '1 month' + (GREATEST(age - missed, 0) + 1) * INTERVAL '1 month'
                    - shift * INTERVAL '1 day')::date, 1,
                   CASE WHEN %(lpr)s <> '' THEN 90 END, CASE WHEN %(lpr)s <> '' THEN 0.0345 END, %(rule)s,
                   '', '[]', '{{}}'
              FROM {shape}
            """,
            params,
        )
        cur.execute(
            f"""
            INSERT INTO postloan_installment (loan_id, number, due_date, principal, interest, paid_principal, paid_interest,
                penalty, paid_penalty, penalty_accrued, status, paid_off_on)
            SELECT g, m, (CAST(%(d)s AS DATE) - age * INTERVAL '1 month' + m * INTERVAL '1 month' - shift * INTERVAL '1 day')::date,
                   %(p)s, 300,
                   CASE WHEN m <= age - missed THEN %(p)s ELSE 0 END, CASE WHEN m <= age - missed THEN 300 ELSE 0 END,
                   0, 0, 0, CASE WHEN m <= age - missed THEN 'paid' ELSE 'pending' END,
                   CASE WHEN m <= age - missed
                        THEN (CAST(%(d)s AS DATE) - age * INTERVAL '1 month' + m * INTERVAL '1 month' - shift * INTERVAL '1 day')::date END
              FROM {shape} CROSS JOIN generate_series(1, %(k)s) AS m
            """,
            params,
        )
        # Each loan's routine-check clock (issue 18): consumer loans every 6 months from disbursement, so a night
        # sees the loans whose next check falls 15 days ahead (about 1/180 of the book).
        cur.execute(
            f"""
            INSERT INTO postloan_loanmonitoring (loan_id, anchor, months, seq, next_routine_on)
            SELECT g, (CAST(%(d)s AS DATE) - age * INTERVAL '1 month' - shift * INTERVAL '1 day')::date, 6,
                   age / 6 + 1,
                   (CAST(%(d)s AS DATE) - age * INTERVAL '1 month' - shift * INTERVAL '1 day'
                    + (age / 6 + 1) * INTERVAL '6 months')::date
              FROM {shape}
            """,
            params,
        )
        if lpr:  # each loan's rate clock: tonight (january), or spread over the coming year (anniversary)
            cur.execute("""INSERT INTO postloan_rateclock (loan_id, current_rate, next_repricing_on)
                           SELECT g, 0.0435, CASE WHEN %(lpr)s = 'january' THEN CAST(%(d)s AS DATE)
                                                  ELSE CAST(%(d)s AS DATE) + CAST(g %% 365 AS INTEGER) END
                             FROM generate_series(1, %(n)s) AS g""", params)
            cur.execute("ANALYZE postloan_rateclock")
        if lpr:  # the LPR at approval, and a newer one in force tonight (both confirmed by a second person)
            cur.execute("""INSERT INTO applications_lprpublication (published_on, lpr_1y, lpr_5y, status, filed_by_id,
                                  filed_at, decided_by_id, decided_at, note)
                           VALUES (CAST(%(d)s AS DATE) - 400, 0.0345, 0.0420, 'confirmed', %(user)s, now(), %(user)s,
                                   now(), 'bench'),
                                  (CAST(%(d)s AS DATE) - 20, 0.0310, 0.0360, 'confirmed', %(user)s, now(), %(user)s,
                                   now(), 'bench')""", params)
        cur.execute("SET session_replication_role = DEFAULT")
        cur.execute("SELECT setval(pg_get_serial_sequence('applications_loan', 'id'), %s)", [n])
        # ``--vacuum``: vacuumed as well as analyzed (as bench/load.py does). Freshly inserted rows have no visibility
        # map, which a live database's old rows have (autovacuum; it is off on the CI machine): without it every
        # index-only read visits the heap. Off by default, so that the figures compare with the earlier ones.
        command = "VACUUM ANALYZE" if vacuum else "ANALYZE"
        for table in ("applications_loan", "postloan_installment", "postloan_loanmonitoring"):
            cur.execute(f"{command} {table}")
    # The audit chain starts again with the emptied audit table (the migration's own genesis head).
    from loancenter import audit as audit_chain
    from loancenter.models import AuditEntry, AuditHead

    audit_chain.start_head(AuditHead, AuditEntry, connection.alias)
    return time.perf_counter() - started


def start_workers(concurrency: int):
    """A Celery worker with ``concurrency`` processes on the bench's database and broker, as docker-compose runs one
    (``celery -A loancenter worker --concurrency=2``); returns the process once it answers a ping."""
    import subprocess

    from loancenter.celery import app

    app.control.purge()  # nothing left over from an earlier bench on this broker
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "loancenter", "worker", "--loglevel=WARNING",
                               f"--concurrency={concurrency}", "--without-gossip", "--without-mingle",
                               "--without-heartbeat"], cwd=str(Path(__file__).resolve().parent.parent), env=os.environ)
    for _ in range(600):
        if app.control.ping(timeout=0.5):
            return worker
        if worker.poll() is not None:
            break
    worker.kill()
    raise SystemExit("the Celery worker did not start")


def run_night(as_of: date, deadline: float = 3600.0):
    """The night for ``as_of`` as the beat starts it (``batch_start``): in this process, or, with workers, until the
    workers have finished its last chunk (the run is then done or failed). A night on the workers that has not ended
    after ``deadline`` seconds (a worker died, the broker is gone) stops the bench with the chunks' states."""
    from postloan.models import BatchRun
    from postloan.tasks import batch_start

    started = time.perf_counter()
    run = batch_start(as_of=as_of)
    while run.status not in (BatchRun.DONE, BatchRun.FAILED):
        if time.perf_counter() - started > deadline:
            states = sorted(run.chunks.values_list("lo", "status"))
            raise SystemExit(f"the night as of {as_of} did not end within {deadline:.0f} s; chunks (lo, status): {states}")
        time.sleep(0.02)
        run.refresh_from_db()
    return run


def bare_dpd_seconds(as_of: date) -> tuple[float, int]:
    """One statement: every active loan's days past due, from its oldest unpaid installment."""
    from django.db import connection

    with connection.cursor() as cur:
        started = time.perf_counter()
        cur.execute(
            """
            SELECT COUNT(*), SUM(dpd) FROM (
              SELECT l.id, COALESCE(CAST(%(d)s AS DATE) - (SELECT MIN(i.due_date) FROM postloan_installment i
                       WHERE i.loan_id = l.id AND i.paid_off_on IS NULL AND i.due_date < %(d)s), 0) AS dpd
                FROM applications_loan l WHERE l.status = 'active') AS x
            """,
            {"d": as_of},
        )
        _count, total = cur.fetchone()
        return time.perf_counter() - started, int(total or 0)


def flag_paid(share: float) -> int:
    """What the day's repayments leave for the night: a payment queues its loan for regrading unless the loan is
    performing and untiered (Loan.save: an on-time payment of a 正常 loan leaves the night nothing to grade)."""
    from django.db import connection

    if share <= 0:
        return 0
    with connection.cursor() as cur:
        # A random sample (seeded: the same loans every run), independent of the generator's id-based delinquency mix.
        cur.execute("SELECT setseed(0.2026)")
        cur.execute("""INSERT INTO applications_pendingregrade (loan_id)
                       SELECT id FROM (SELECT id, collection_tier, grade, manual_grade, restructured_on, npl_cure_start
                                         FROM applications_loan WHERE status = 'active' ORDER BY id) AS l
                        WHERE random() < %s
                          AND NOT (collection_tier = '' AND grade = 'normal' AND manual_grade = ''
                                   AND restructured_on IS NULL AND npl_cure_start IS NULL)
                       ON CONFLICT DO NOTHING""", [share])
        queued = cur.rowcount
        # What those payments did during the day (postloan.services.repayment_post): each paid its oldest unpaid
        # installment, so its loan's balance and oldest unpaid due date moved (and tonight its tier may change).
        cur.execute("""
            UPDATE postloan_installment AS i
               SET paid_principal = i.principal, paid_interest = i.interest, status = 'paid', paid_off_on = CURRENT_DATE - 1
              FROM (SELECT DISTINCT ON (j.loan_id) j.id FROM postloan_installment AS j
                      JOIN applications_pendingregrade AS q ON q.loan_id = j.loan_id
                     WHERE j.paid_off_on IS NULL ORDER BY j.loan_id, j.due_date) AS oldest
             WHERE i.id = oldest.id
        """)
        cur.execute("""
            UPDATE applications_loan AS l
               SET outstanding_principal = 100000 - (SELECT SUM(k.paid_principal) FROM postloan_installment AS k
                                                      WHERE k.loan_id = l.id),
                   oldest_unpaid_due = (SELECT MIN(k.due_date) FROM postloan_installment AS k
                                         WHERE k.loan_id = l.id AND k.paid_off_on IS NULL)
             WHERE l.id IN (SELECT q.loan_id FROM applications_pendingregrade AS q)
        """)
        return queued


def settle() -> float:
    """A checkpoint, so that the timed night does not run inside the checkpoints the generator's and the warm-up's
    writes (a whole book, GBs of WAL) keep triggering: with the server's default ``max_wal_size`` (1 GB) those came every
    6–16 s for minutes after the warm-up, and the nights measured among them varied by a third (docs/decisions.md
    "The bench's night starts after a checkpoint"). A real night follows a day of ordinary work, not a million writes."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("CHECKPOINT")
    return time.perf_counter() - started


def shown_dpd_sum(as_of: date) -> int:
    """The days past due the pages show for every active loan (Loan.days_past_due as of the run), summed in SQL."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """SELECT COALESCE(SUM(CASE WHEN oldest_unpaid_due < %(d)s THEN %(d)s - oldest_unpaid_due ELSE 0 END), 0)
                 FROM applications_loan WHERE status = 'active'""",
            {"d": as_of},
        )
        return int(cur.fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--installments", type=int, default=12)
    parser.add_argument("--db", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lc_bench"))
    parser.add_argument("--profile", action="store_true", help="print each SQL step's time per chunk")
    parser.add_argument("--same-due-day", action="store_true",
                        help="every due date on as-of's day of the month (the worst night) instead of spread over the month")
    parser.add_argument("--paid-share", type=float, default=1 / 30,
                        help="share of the loans that pay during the day (default 1/30); the payments of loans not "
                             "performing and current queue them for regrading")
    parser.add_argument("--lpr", choices=["anniversary", "january"], default="",
                        help="an LPR-linked book and its repricing night (issue 19)")
    parser.add_argument("--vacuum", action="store_true",
                        help="vacuum the generated tables (a live database's visibility map) instead of only analyzing")
    parser.add_argument("--method", choices=["equal_principal", "equal_installment"], default="equal_principal",
                        help="the loans' repayment method (what a repricing re-amortises; the generated installments "
                             "are level either way)")
    parser.add_argument("--workers", type=int, default=0,
                        help="run the nights' chunks on a Celery worker with this many processes, as deployed "
                             "(docker-compose: --concurrency=2), through Redis (BENCH_REDIS_URL, default "
                             "redis://127.0.0.1:6379/7); default: in this process, one chunk after another. The steps' "
                             "shares are then measured in the workers and not printed")
    parser.add_argument("--chunk-size", type=int, default=0,
                        help="loans per chunk (BATCH_CHUNK_SIZE; default: the setting's, 200,000). docker-compose's "
                             "two worker processes run with 100,000 (.env.example)")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                        help="the timed night (default: yesterday; with --lpr january: this year's 1 January)")
    args = parser.parse_args()
    if args.chunk_size:
        os.environ["BATCH_CHUNK_SIZE"] = str(args.chunk_size)  # read by the settings, here and in the workers
    setup(args.db, os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7") if args.workers else "")
    if args.profile:
        import logging

        logging.basicConfig(level=logging.WARNING, format="  %(message)s")
        logging.getLogger("postloan.batch").setLevel(logging.DEBUG)

    as_of = args.as_of or (date(date.today().year, 1, 1) if args.lpr == "january" else date.today() - timedelta(days=1))
    gen = generate(args.loans, args.installments, as_of, spread=not args.same_due_day, lpr=args.lpr,
                   vacuum=args.vacuum, method=args.method)
    print(f"generated {args.loans:,} loans × {args.installments} installments in {gen:.1f} s")
    worker = start_workers(args.workers) if args.workers else None
    try:
        warm = time.perf_counter()
        run_night(as_of - timedelta(days=1))
        print(f"warm-up run (as of {as_of - timedelta(days=1)}, first grading of every loan): "
              f"{time.perf_counter() - warm:.2f} s")

        flagged = flag_paid(args.paid_share)
        print(f"the day's payments queued {flagged:,} loans for regrading tonight (payments of performing, current "
              "loans queue nothing)")
        print(f"checkpoint before the timed night: {settle():.1f} s")

        from postloan import batch, repricing

        repricing.LAST_TIMINGS.clear()
        started = time.perf_counter()
        run = run_night(as_of)  # the run writes the dashboard's figures itself (borrowers, the period's interest)
        seconds = time.perf_counter() - started
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=60)
    # In this process the dashboard's figures are timed apart (printed on their own line, as before); with workers
    # they are part of the night the workers ran.
    figures = 0.0 if worker else batch.LAST_TIMINGS["period interest"]
    seconds -= figures
    bare, bare_sum = bare_dpd_seconds(as_of)
    bare_again, _ = bare_dpd_seconds(as_of)
    bare = min(bare, bare_again)
    batch_sum = shown_dpd_sum(as_of)
    assert run.status == "done", run.error
    assert batch_sum == bare_sum, f"batch and bare SQL disagree on days past due: {batch_sum} != {bare_sum}"
    where = (f"on a Celery worker with {args.workers} processes" if worker
             else "in this process, one chunk after another")
    print(f"nightly batch as of {as_of} ({where}): {run.loans:,} loans in {run.chunks_total} chunks, "
          f"{seconds:.2f} s, {run.loans / seconds:,.0f} loans/s")
    print(f"bare SQL days-past-due statement: {bare:.2f} s ({run.loans / bare:,.0f} loans/s)")
    total = seconds + figures
    from postloan.models import Installment, Notice, PostLoanCheck, Signal

    if worker:
        print(f"the whole night (the dashboard's figures and monitoring included) / bare SQL: {total / bare:.2f}   "
              f"(target ≤ 2.50; the steps ran in the workers and are not timed here)")
    else:
        print(f"ratio batch / bare SQL: {seconds / bare:.2f}   (target ≤ 2.00)")
        print(f"and the dashboard's figures (the period's interest; borrowers are counted in the snapshot's scan): "
              f"{figures:.2f} s; batch and figures together / bare SQL: {(seconds + figures) / bare:.2f}")
        print(f"per loan: {1e6 * seconds / run.loans:.1f} µs with {args.installments} installments per loan; "
              f"loans whose tier, grade or provision changed: {run.loans_changed:,}")
        from postloan.monitoring_batch import LAST_TIMINGS

        monitoring = sum(LAST_TIMINGS.values())
        print(f"the night's steps (share of batch + figures = {total:.2f} s):")
        print(f"  grading, cases, snapshot: {seconds - monitoring:.3f} s ({(seconds - monitoring) / total:.1%})")
        snapshot = batch.LAST_TIMINGS["snapshot with the borrowers"]
        print(f"    of which the snapshot with the borrowers: {snapshot:.3f} s ({snapshot / total:.1%})")
        print(f"  dashboard figures (the period's interest): {figures:.3f} s ({figures / total:.1%})")
        for step, took in LAST_TIMINGS.items():
            print(f"  {step}: {took:.3f} s ({took / total:.1%})")
        print(f"  monitoring steps together: {monitoring:.3f} s ({monitoring / total:.1%})")
    print(f"written tonight: {Signal.objects.filter(raised_on=as_of).count():,} signals, "
          f"{PostLoanCheck.objects.filter(created_on=as_of).count():,} checks, "
          f"{Notice.objects.filter(created_on=as_of).count():,} notices")
    if not worker:
        print(f"the whole night / bare SQL: {total / bare:.2f}   (target ≤ 2.50)")
    if args.lpr:
        from postloan.models import RateClock, Repricing

        repriced = Repricing.objects.filter(batch_date=as_of).count()
        left = RateClock.objects.filter(next_repricing_on__lte=as_of, loan__status="active").count()
        assert left == 0, f"{left:,} loans due on or before {as_of} were not repriced"
        rows = Installment.objects.filter(repriced_on__isnull=False).count()
        steps = ("" if worker else "; steps: " + ", ".join(f"{name} {took:.2f} s" for name, took in
                                                            repricing.LAST_TIMINGS.items())
                 + f"; repricing together {sum(repricing.LAST_TIMINGS.values()):.2f} s")
        print(f"LPR repricing ({args.lpr} night {as_of}): {repriced:,} loans repriced, {rows:,} installments "
              f"recomputed{steps}")
        if args.lpr == "january":
            print(f"1 January night ({where}): the whole night {total:.2f} s (target < 60 s) beside the floor, "
                  f"the bare days-past-due statement: {bare:.2f} s")


if __name__ == "__main__":
    main()
