"""Benchmark of the scorecard validation report (issue 19, SPEC §15) on PostgreSQL.

Generates a book of N rated loans (default 50,000) whose scores follow a normal spread and whose outcomes follow a
known relation to the score: a loan goes 90+ days past due within its first year with probability
1 / (1 + exp((score − 560) / 45)). 10 % of the applications are rejected (they count in the approval rate only); the
rest are disbursed over the 24 months before as-of, 12 monthly installments each; a bad loan leaves one of its first
nine installments unpaid (or pays it 120 days late), a good one pays every installment on its due date.

Prints the generation time, the report's time, the Gini and KS it found and the Gini the generating relation implies
for the same scores (the expected value of the statistic over the outcomes; the found one scatters around it).

    .venv/bin/python bench/validation_report.py --loans 50000

Uses its own database (default postgres://postgres@127.0.0.1:5432/lc_bench_score, created if missing).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def setup(db_url: str) -> None:
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
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loancenter.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def p_bad(score: int) -> float:
    return 1.0 / (1.0 + math.exp((score - 560) / 45))


def expected_gini(scores: list[int]) -> float:
    """The Gini the relation implies: each loan is bad with p_bad(score); AUC = E[#(good above bad)] / E[#goods·#bads]
    over pairs of distinct loans (ties half), computed over the sorted scores in one pass."""
    from collections import Counter

    counts = Counter(scores)
    bads_below = 0.0
    concordant = 0.0
    total_bad = sum(p_bad(s) * n for s, n in counts.items())
    total_good = sum((1 - p_bad(s)) * n for s, n in counts.items())
    for s in sorted(counts):
        n, p = counts[s], p_bad(s)
        goods, bads = n * (1 - p), n * p
        concordant += goods * bads_below + 0.5 * goods * bads * (n - 1) / n
        bads_below += bads
    pairs = total_good * total_bad - sum(n * (1 - p_bad(s)) * p_bad(s) for s, n in counts.items())
    return 2 * concordant / pairs - 1


def generate(n: int, as_of: date, seed: int = 19) -> tuple[float, list[int]]:
    from decimal import Decimal

    from django.db import connection, transaction
    from django.utils import timezone
    from psycopg2.extras import execute_values

    from applications.models import Customer, Loan, Product, ScorecardVersion
    from applications.pricing.scoring import rating_for
    from loancenter.lib.idcard import make_id_number
    from loancenter.models import User

    started = time.perf_counter()
    rng = random.Random(seed)
    user, _ = User.objects.get_or_create(username="bench")
    product, _ = Product.objects.get_or_create(
        code="bench", defaults=dict(name="bench", category="consumer", min_amount=1000, max_amount=1000000,
                                    min_term_months=1, max_term_months=360, repayment_methods=["equal_principal"],
                                    min_rate=Decimal("0.01"), max_rate=Decimal("0.2"), max_dti=Decimal("0.5")))
    customer = Customer.objects.filter(name="bench").first() or Customer.objects.create(
        name="bench", id_number=make_id_number("110101", date(1980, 1, 1), 1), phone="13800000000",
        monthly_income=10000, officer=user)
    card = ScorecardVersion.objects.get(category="consumer", status="active")
    with connection.cursor() as cur:
        cur.execute("TRUNCATE postloan_installment, disbursement_disbursement, applications_rateoverride, "
                    "applications_loan CASCADE")
    now = timezone.now()
    loans, plan, scores = [], [], []
    for i in range(1, n + 1):
        score = max(350, min(850, int(rng.gauss(640, 60))))
        rejected = rng.random() < 0.10
        disbursed_on = as_of - timedelta(days=rng.randrange(0, 730))
        bad = rng.random() < p_bad(score)
        loans.append(Loan(
            id=i, application_no=f"VB{i}", customer=customer, product=product, marketing_officer=user, amount=100000,
            term_months=12, repayment_method="equal_principal", purpose="home_renovation",
            status="rejected" if rejected else "active", stage_reached=6 if rejected else 10, approver=user,
            decided_at=now - timedelta(days=(as_of - disbursed_on).days + 1), score=score,
            rating=rating_for(score, card.cutoffs), scorecard_version=card, rated_at=now))
        if not rejected:
            plan.append((i, disbursed_on, rng.randrange(1, 10) if bad else None, bad and rng.random() < 0.3))
            scores.append(score)
    with transaction.atomic():
        Loan.objects.bulk_create(loans, batch_size=5000)
        with connection.cursor() as cur:
            execute_values(cur, "INSERT INTO disbursement_disbursement (loan_id, amount, disbursed_on, payee_account, "
                           "payment_mode, disburser_id, created_at) VALUES %s",
                           [(i, 100000, on, "6222", "entrusted", user.pk, now) for i, on, _m, _l in plan],
                           page_size=5000)
            cur.execute("CREATE TEMP TABLE bench_plan (loan_id bigint, disbursed_on date, bad_m int, paid_late bool)")
            execute_values(cur, "INSERT INTO bench_plan VALUES %s", plan, page_size=5000)
            # Twelve installments a loan; the bad one unpaid (or paid 120 days late), the others paid on the day.
            cur.execute("""
                INSERT INTO postloan_installment (loan_id, number, due_date, principal, interest, paid_principal,
                    paid_interest, penalty, paid_penalty, penalty_accrued, status, paid_off_on)
                SELECT loan_id, m, due, 8333.33, 300, 0, 0, 0, 0, 0, 'pending',
                       CASE WHEN m = bad_m AND NOT paid_late THEN NULL
                            WHEN m = bad_m AND due + 120 <= %(d)s THEN due + 120
                            WHEN m = bad_m THEN NULL
                            WHEN due <= %(d)s THEN due END
                  FROM (SELECT p.*, m, (p.disbursed_on + m * INTERVAL '1 month')::date AS due
                          FROM bench_plan p CROSS JOIN generate_series(1, 12) AS m) AS x
            """, {"d": as_of})
            cur.execute("ANALYZE applications_loan")
            cur.execute("ANALYZE postloan_installment")
            cur.execute("ANALYZE disbursement_disbursement")
    return time.perf_counter() - started, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=50_000)
    parser.add_argument("--db", default="postgres://postgres@127.0.0.1:5432/lc_bench_score")
    args = parser.parse_args()
    setup(args.db)
    from applications.models import Loan
    from loancenter.lib.dates import today
    from risk.validation import validation_report

    as_of = today()
    seconds, scores = generate(args.loans, as_of)
    print(f"generated {args.loans:,} loans ({len(scores):,} disbursed) in {seconds:.1f} s")
    for attempt in (1, 2):
        started = time.perf_counter()
        report = validation_report(Loan.objects.all(), as_of=as_of)
        elapsed = time.perf_counter() - started
        print(f"run {attempt}: validation report in {elapsed:.2f} s over {report.total.decided:,} decided, "
              f"{report.total.disbursed:,} disbursed, {report.scored:,} with 12 months' history, "
              f"{report.total.bad:,} ever 90+ days past due")
    # The relation's Gini over the disbursed book: which loans have 12 months' history does not depend on the score.
    print(f"Gini found {report.gini:.3f} (the relation implies {expected_gini(scores):.3f}), KS found "
          f"{report.ks:.3f}")
    for line in report.by_rating:
        print(f"  {line.rating}: decided {line.decided:>6,}  approval {float(line.approval_rate or 0):6.1%}  "
              f"12m-history {line.mature:>6,}  ever 90+ {float(line.bad_rate or 0):6.1%}")


if __name__ == "__main__":
    main()
