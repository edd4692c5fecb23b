"""The nightly batch (SPEC §6), set-based and proportional to what moves: a handful of SQL statements per chunk of loan
ids, never a save() per loan, and no statement that reads every loan's installments.

What the batch does **not** write: days past due, penalty interest and an installment's "overdue" status. They
follow from stored facts and a date (postloan.book): ``Loan.oldest_unpaid_due`` (kept by the schedule, repayments
and servicing) and each installment's due date and penalty accrued up to its last change. Pages read them as of the
book date, the latest finished run.

What it writes, per chunk and as-of date D, in one transaction, for the **candidates** only:
1. the candidates' new days past due, tier, five-level grade (2023 floors, restructuring observation, the upgrade
   rule, a manual floor) and provision, into a per-connection work table;
2. collection cases: opened when a loan falls overdue, re-tiered and re-owned when it crosses 30 or 90 days (with
   escalation tasks, judged on the stored tier against the new one), closed when it is paid up;
3. tier, grade, provision, cure and observation dates where something changed; the graded loans leave the queue.

The candidates of date D, with P the previous finished run's date:
- loans waiting in ``PendingRegrade`` (a payment, prepayment, extension, manual grade, disbursement changed their
  inputs);
- loans whose days past due crossed a threshold (1, 31, 91, 271, 361) between P and D: their oldest unpaid due date
  lies in (P − t, D − t] (an index on ``oldest_unpaid_due``), so a quiet current or steadily overdue loan is not read;
- loans whose non-performing cure clock reached 6 months, and restructured loans (observation period);
- every active loan on the first run, or when the provision rates changed since P.
Then, once every chunk is done: the day's portfolio snapshot (and the dashboard's borrowers, in a second scan),
the period's interest for 收息率, and at month end each loan's month-end row.

Idempotent for one date (the same candidates, "only where changed", unique cases and tasks), resumable (chunks are
claimed with a compare-and-swap UPDATE and commit on their own), and catch-up runs missed dates in date order.
"""

from __future__ import annotations

import calendar
import logging
import os
import time
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max, Min, Q, Sum
from django.utils import timezone

from applications.models import Guarantor, Loan, PendingRegrade, Product, Status
from loancenter.lib.dates import add_months
from postloan import repricing
from postloan.models import GRADES, BatchChunk, BatchRun, DailySnapshot, ProvisionRate

log = logging.getLogger(__name__)

DEFAULT_PROVISION_RATES = {
    "normal": Decimal("0.01"), "special_mention": Decimal("0.02"), "substandard": Decimal("0.25"),
    "doubtful": Decimal("0.50"), "loss": Decimal("1.00"),
}
# 《商业银行金融资产风险分类办法》(2023): days-past-due floors of each grade.
GRADE_FLOORS = [(0, "normal"), (90, "special_mention"), (270, "substandard"), (360, "doubtful")]  # above 360: loss
OBSERVATION_MONTHS = 12  # restructured loans: at least 关注 for 2 periods and at least 1 year (monthly: 1 year)
CURE_MONTHS = 6  # NPL upgrade: arrears repaid and 2 periods or 6 months, the longer (monthly: 6 months)
# Days past due at which a tier or a grade floor changes: a loan is graded again the night it reaches one of them.
THRESHOLDS = (1, 31, 91, 271, 361)
# The last finish_run's steps (the bench prints their shares of the night).
LAST_TIMINGS: dict[str, float] = {}
ANALYZE_SHARE = 0.05  # a run that changed more than this share of the loans refreshes the loan table's statistics


def provision_rates() -> dict[str, Decimal]:
    rates = dict(DEFAULT_PROVISION_RATES)
    rates.update(dict(ProvisionRate.objects.values_list("grade", "rate")))
    return rates


def grade_for_days(days: int) -> str:
    for limit, grade in GRADE_FLOORS:
        if days <= limit:
            return grade
    return "loss"


# ---------------------------------------------------------------------------------------------------------------
# SQL, for PostgreSQL and SQLite (the embedded default). Only date arithmetic and GREATEST differ.


def _sql_days(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"({later} - {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def _sql_greatest(*parts: str) -> str:
    fn = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    return f"{fn}({', '.join(parts)})"


def _d(name: str) -> str:
    return f"CAST(%({name})s AS DATE)" if connection.vendor == "postgresql" else f"%({name})s"


def _rank(column: str) -> str:
    whens = " ".join(f"WHEN '{g}' THEN {i}" for i, g in enumerate(GRADES))
    return f"(CASE {column} {whens} ELSE 0 END)"


def _tier(dpd: str) -> str:
    return f"(CASE WHEN {dpd} = 0 THEN '' WHEN {dpd} <= 30 THEN 'T1' WHEN {dpd} <= 90 THEN 'T2' ELSE 'T3' END)"


# The loan app's tables, named by their models (this set-based SQL never spells another app's table).
LOAN = Loan._meta.db_table
PRODUCT = Product._meta.db_table
GUARANTOR = Guarantor._meta.db_table
PENDING_REGRADE = PendingRegrade._meta.db_table

_CHUNK = "l.status = 'active' AND l.id >= %(lo)s AND l.id < %(hi)s"
_WORK = "batch_grading"  # per-connection work table: the chunk's candidates and their new figures


def _params(as_of: date, previous: date | None, lo: int, hi: int, full: bool) -> dict:
    params = {"d": as_of, "lo": lo, "hi": hi, "full": full or previous is None,
              "cure_cutoff": add_months(as_of, -CURE_MONTHS), "obs_restart": add_months(as_of, OBSERVATION_MONTHS)}
    prev = previous or as_of - timedelta(days=1)
    params["cure_prev"] = add_months(prev, -CURE_MONTHS)
    for t in THRESHOLDS:  # days past due reach t between the runs: oldest unpaid due in (prev - t, d - t]
        params[f"after_{t}"], params[f"upto_{t}"] = prev - timedelta(days=t), as_of - timedelta(days=t)
    params.update({f"rate_{g}": r for g, r in provision_rates().items()})
    return params


def _candidates(full: bool) -> str:
    """The ids of the chunk's candidates: one index range per source, so a quiet night reads only what moves."""
    if full:
        return f"SELECT l.id FROM {LOAN} AS l WHERE {_CHUNK}"
    ids = "c.id >= %(lo)s AND c.id < %(hi)s"
    sources = [
        f"SELECT q.loan_id FROM {PENDING_REGRADE} AS q WHERE q.loan_id >= %(lo)s AND q.loan_id < %(hi)s",
        f"SELECT c.id FROM {LOAN} AS c WHERE c.restructured_on IS NOT NULL AND {ids}",
        f"SELECT c.id FROM {LOAN} AS c WHERE c.npl_cure_start > {_d('cure_prev')} "
        f"AND c.npl_cure_start <= {_d('cure_cutoff')} AND {ids}",
        *(f"SELECT c.id FROM {LOAN} AS c WHERE c.status = 'active' AND c.oldest_unpaid_due > {_d(f'after_{t}')} "
          f"AND c.oldest_unpaid_due <= {_d(f'upto_{t}')} AND {ids}" for t in THRESHOLDS),
    ]
    return " UNION ".join(sources)


def _work_table(cur) -> None:
    temp = "TEMPORARY"
    cur.execute(
        f"""CREATE {temp} TABLE IF NOT EXISTS {_WORK} (
              id BIGINT PRIMARY KEY, old_tier VARCHAR(2) NOT NULL, nd INTEGER NOT NULL, tier VARCHAR(2) NOT NULL,
              grade VARCHAR(16) NOT NULL, provision NUMERIC(14, 2) NOT NULL, cure DATE, obs DATE, officer BIGINT NOT NULL,
              guaranteed BOOLEAN NOT NULL, insured BOOLEAN NOT NULL, changed BOOLEAN NOT NULL)"""
    )
    cur.execute(f"DELETE FROM {_WORK}")


def _grade_candidates(cur, params: dict) -> None:
    """The chunk's candidates with their new days past due, tier, grade rank, provision, cure and observation dates."""
    dpd = (f"(CASE WHEN l.oldest_unpaid_due IS NOT NULL AND l.oldest_unpaid_due < {_d('d')} "
           f"THEN {_sql_days(_d('d'), 'l.oldest_unpaid_due')} ELSE 0 END)")
    rate_case = "(CASE n.new_rank " + " ".join(f"WHEN {i} THEN %(rate_{g})s" for i, g in enumerate(GRADES)) + " END)"
    grade_name = "(CASE n.new_rank " + " ".join(f"WHEN {i} THEN '{g}'" for i, g in enumerate(GRADES)) + " END)"
    dpd_rank = ("(CASE WHEN a.nd = 0 THEN 0 WHEN a.nd <= 90 THEN 1 WHEN a.nd <= 270 THEN 2 "
                "WHEN a.nd <= 360 THEN 3 ELSE 4 END)")
    cured = f"(a.prev_rank >= 2 AND a.nd = 0 AND a.npl_cure_start IS NOT NULL AND a.npl_cure_start <= {_d('cure_cutoff')})"
    restr_rank = f"(CASE WHEN a.restructured_on IS NOT NULL AND a.new_obs >= {_d('d')} THEN 1 ELSE 0 END)"
    hold_rank = f"(CASE WHEN a.prev_rank >= 2 AND NOT {cured} THEN a.prev_rank ELSE 0 END)"
    # An open red early-warning signal: at least 关注 (SPEC §12; postloan.signals queues the loan when one opens).
    red_rank = ("(CASE WHEN EXISTS (SELECT 1 FROM postloan_signal AS s WHERE s.loan_id = l.id AND s.status = 'open' "
                "AND s.level = 'red') THEN 1 ELSE 0 END)")
    new_cure = f"(CASE WHEN a.prev_rank >= 2 AND a.nd = 0 AND NOT {cured} THEN COALESCE(a.npl_cure_start, {_d('d')}) ELSE NULL END)"
    lock = "FOR UPDATE OF l" if connection.vendor == "postgresql" else ""
    cur.execute(
        f"""
        INSERT INTO {_WORK} (id, old_tier, nd, tier, grade, provision, cure, obs, officer, guaranteed, insured, changed)
        SELECT m.id, m.old_tier, m.nd, m.tier, m.grade, m.provision, m.cure, m.obs, m.officer,
               EXISTS (SELECT 1 FROM {GUARANTOR} g WHERE g.loan_id = m.id), m.category IN ('housing', 'auto'),
               (m.old_tier <> m.tier OR m.old_grade <> m.grade OR m.old_provision <> m.provision
                OR m.old_cure IS DISTINCT FROM m.cure OR m.old_obs IS DISTINCT FROM m.obs)
          FROM (
        SELECT n.id, n.old_tier, n.nd, {_tier('n.nd')} AS tier, {grade_name} AS grade,
               ROUND(n.outstanding_principal * {rate_case}, 2) AS provision, n.new_cure AS cure, n.new_obs AS obs,
               n.officer, n.category, n.old_grade, n.old_provision, n.npl_cure_start AS old_cure, n.old_obs
          FROM (
                SELECT a.id, a.old_tier, a.nd, a.outstanding_principal, a.new_obs, a.officer, a.category,
                       a.old_grade, a.old_provision, a.npl_cure_start, a.old_obs, a.red_rank,
                       {new_cure} AS new_cure,
                       {_sql_greatest(dpd_rank, restr_rank, "a.manual_rank", hold_rank, "a.red_rank")} AS new_rank
                  FROM (
                        SELECT l.id, l.collection_tier AS old_tier, l.grade AS old_grade, l.provision AS old_provision,
                               l.observation_until AS old_obs, {dpd} AS nd, l.outstanding_principal,
                               l.restructured_on, l.npl_cure_start, l.marketing_officer_id AS officer, p.category,
                               {_rank('l.grade')} AS prev_rank, {_rank('l.manual_grade')} AS manual_rank, {red_rank} AS red_rank,
                               (CASE WHEN l.restructured_on IS NOT NULL AND {dpd} > 0 THEN {_d('obs_restart')}
                                     ELSE l.observation_until END) AS new_obs
                          FROM {LOAN} AS l JOIN {PRODUCT} AS p ON p.id = l.product_id
                         WHERE {_CHUNK} AND l.id IN ({_candidates(params["full"])})
                         {lock}
                       ) AS a
               ) AS n
               ) AS m
        """,
        params,
    )
    if connection.vendor == "postgresql":
        cur.execute(f"ANALYZE {_WORK}")  # its size, so that the joins below probe the loans by id, not scan them


def _collection_cases(cur, params: dict) -> None:
    owner_post = "(CASE WHEN w.nd <= 30 THEN 'marketing' ELSE 'general' END)"
    owner = "(CASE WHEN w.nd <= 30 THEN w.officer ELSE NULL END)"
    # Paid up: the case closes.
    cur.execute(
        f"""
        UPDATE postloan_collectioncase SET closed_on = {_d('d')}
         WHERE closed_on IS NULL AND loan_id IN (SELECT w.id FROM {_WORK} AS w WHERE w.nd = 0)
        """,
        params,
    )
    # Newly overdue: a case opens, owned by the tier's post.
    cur.execute(
        f"""
        INSERT INTO postloan_collectioncase (loan_id, opened_on, tier, owner_post, owner_id)
        SELECT w.id, {_d('d')}, w.tier, {owner_post}, {owner}
          FROM {_WORK} AS w
         WHERE w.nd > 0
           AND NOT EXISTS (SELECT 1 FROM postloan_collectioncase c WHERE c.loan_id = w.id AND c.closed_on IS NULL)
        """,
        params,
    )
    # Crossing 30 or 90 days (the stored tier against tonight's): escalation tasks, created once per case.
    to_t2 = "w.old_tier IN ('', 'T1') AND w.tier IN ('T2', 'T3')"
    to_t3 = "w.old_tier <> 'T3' AND w.tier = 'T3'"
    tasks = [("handover_t2", to_t2), ("legal_action", to_t3), ("guarantor_demand", f"{to_t3} AND w.guaranteed"),
             ("insurance_claim", f"{to_t3} AND w.insured")]
    for kind, crossing in tasks:
        cur.execute(
            f"""
            INSERT INTO postloan_escalationtask (case_id, loan_id, kind, created_on, note)
            SELECT c.id, w.id, '{kind}', {_d('d')}, ''
              FROM {_WORK} AS w JOIN postloan_collectioncase AS c ON c.loan_id = w.id AND c.closed_on IS NULL
             WHERE {crossing}
               AND NOT EXISTS (SELECT 1 FROM postloan_escalationtask t WHERE t.case_id = c.id AND t.kind = '{kind}')
            """,
            params,
        )
    # Re-tier open cases (and reassign: T1 to the loan's officer, T2/T3 to the general post).
    cur.execute(
        f"""
        UPDATE postloan_collectioncase
           SET tier = w.tier, owner_post = {owner_post}, owner_id = {owner}
          FROM {_WORK} AS w
         WHERE postloan_collectioncase.loan_id = w.id AND postloan_collectioncase.closed_on IS NULL AND w.nd > 0
           AND postloan_collectioncase.tier <> w.tier
        """,
        params,
    )


def _write_loans(cur, params: dict) -> int:
    cur.execute(
        f"""
        UPDATE {LOAN}
           SET collection_tier = w.tier, grade = w.grade, provision = w.provision, npl_cure_start = w.cure,
               observation_until = w.obs
          FROM {_WORK} AS w
         WHERE {LOAN}.id = w.id AND w.changed
        """,
        params,
    )
    changed = cur.rowcount
    cur.execute(f"DELETE FROM {PENDING_REGRADE} WHERE loan_id >= %(lo)s AND loan_id < %(hi)s "
                f"AND loan_id IN (SELECT w.id FROM {_WORK} AS w)", params)
    return changed


def process_chunk(*, as_of: date, lo: int, hi: int, previous: date | None = None, full: bool = False,
                  midway=None) -> tuple[int, int]:
    """Run the batch for the active loans with ids in [lo, hi); returns (loans graded, loans whose figures changed).

    ``previous`` is the date of the previous finished run (None: grade every loan); ``full`` grades every loan too.
    ``midway`` is called inside the transaction once the candidates are graded, before anything is written to the
    loans or their cases (fault tests crash or stall there).
    """
    params = _params(as_of, previous, lo, hi, full)
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # Tonight's candidates are a few percent of a chunk, read by id from a table that lives in memory: with
            # the default random_page_cost (4, for spinning disks) the planner reads the whole chunk instead.
            cur.execute("SET LOCAL random_page_cost = 1.1")
        # LPR repricing first (SPEC §15): it rewrites future installments only, nothing the grading reads.
        repricing.reprice_chunk(cur, as_of=as_of, lo=lo, hi=hi)
        changed = 0
        for step in (_work_table, _grade_candidates, _collection_cases, _write_loans):
            started = time.perf_counter()
            result = step(cur, params) if step is not _work_table else step(cur)
            changed = result if step is _write_loans else changed
            log.debug("batch %s [%s, %s) %s: %.3f s", as_of, lo, hi, step.__name__, time.perf_counter() - started)
            if midway is not None and step is _grade_candidates:
                midway()
        cur.execute(f"SELECT COUNT(*) FROM {_WORK}")
        return cur.fetchone()[0], changed


_CELLS = f"""product_id, status, grade, collection_tier, COUNT(*) AS n, SUM(outstanding_principal) AS balance,
           SUM(CASE WHEN status <> 'settled' AND oldest_unpaid_due < {{d}} THEN outstanding_principal ELSE 0 END) AS overdue,
           SUM(provision) AS provision
      FROM {LOAN} WHERE status IN ('active', 'written_off', 'settled')"""


def _snapshot_cells(cur, as_of: date) -> tuple[list[tuple], int]:
    """The day's cells (product, status, grade, tier: loans, balance, overdue balance, provision) and the borrowers
    with active loans (distinct customers).

    Two statements, each a scan PostgreSQL runs in parallel: one scan with a second grouping set (status, customer)
    for the borrowers cannot be parallel (no partial aggregation of grouping sets), and took 1.03–1.13 s at 1,000,000
    loans against 0.43 + 0.25 s for these two (docs/decisions.md "The snapshot in two parallel scans"). The borrowers are
    counted from a GROUP BY, not ``COUNT(DISTINCT …)``, which is never parallel (0.43 s)."""
    cur.execute(f"SELECT {_CELLS.format(d=_d('d'))} GROUP BY product_id, status, grade, collection_tier", {"d": as_of})
    cells = cur.fetchall()
    cur.execute(f"SELECT COUNT(*) FROM (SELECT customer_id FROM {LOAN} WHERE status = 'active' GROUP BY customer_id) AS b")
    return cells, cur.fetchone()[0]


def write_snapshot(as_of: date) -> int:
    """The day's book (active, written-off and settled loans) by product, status, grade and tier; at month end each
    loan's row for the migration matrix. Returns the borrowers with active loans."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM postloan_dailysnapshot WHERE as_of = %s", [as_of])
        # A plain SELECT, a few hundred rows back (INSERT … SELECT would read the same loans no faster).
        cells, borrowers = _snapshot_cells(cur, as_of)
        DailySnapshot.objects.bulk_create([
            DailySnapshot(as_of=as_of, product_id=product, status=status, grade=grade, tier=tier, loans=loans,
                          balance=balance, overdue_balance=overdue, provision=provision)
            for product, status, grade, tier, loans, balance, overdue, provision in cells
        ])
        if as_of.day == calendar.monthrange(as_of.year, as_of.month)[1]:
            month_start = timezone.make_aware(timezone.datetime(as_of.year, as_of.month, 1))
            cur.execute("DELETE FROM postloan_loanmonthend WHERE month_end = %s", [as_of])
            cur.execute(
                f"""
                INSERT INTO postloan_loanmonthend (month_end, loan_id, product_id, status, grade, balance, provision,
                                                   restructured)
                SELECT {_d('d')}, id, product_id, status, grade, outstanding_principal, provision, restructured
                  FROM {LOAN}
                 WHERE status IN ('active', 'written_off')
                    OR (status = 'settled' AND status_changed_at >= %(start)s)
                """,
                {"d": as_of, "start": month_start},
            )
    return borrowers


# ---------------------------------------------------------------------------------------------------------------
# Runs and chunks


def plan_run(as_of: date) -> BatchRun:
    """The run for ``as_of`` with its chunks (created once; a re-run reuses them)."""
    with transaction.atomic():
        run, _created = BatchRun.objects.select_for_update().get_or_create(as_of=as_of)
        if run.chunks_total == 0 and run.status != BatchRun.DONE:
            # What the run compares with: the previous finished run, and the provision rates it used. With none, or
            # with other rates, every loan is graded; otherwise only the candidates (module docstring).
            previous = BatchRun.objects.filter(status=BatchRun.DONE, as_of__lt=as_of).order_by("-as_of").first()
            rates = {g: str(r) for g, r in provision_rates().items()}
            run.previous_as_of = previous.as_of if previous else None
            run.provision_rates = rates
            run.graded_all = previous is None or previous.provision_rates != rates
            bounds = Loan.objects.filter(status=Status.ACTIVE).aggregate(lo=Min("id"), hi=Max("id"))
            size = settings.BATCH_CHUNK_SIZE
            ranges = []
            if bounds["lo"] is not None:
                ranges = [(lo, min(lo + size, bounds["hi"] + 1)) for lo in range(bounds["lo"], bounds["hi"] + 1, size)]
            BatchChunk.objects.bulk_create([BatchChunk(run=run, lo=lo, hi=hi) for lo, hi in ranges] or
                                           [BatchChunk(run=run, lo=0, hi=0)])
            run.chunks_total = max(len(ranges), 1)
            run.save(update_fields=["chunks_total", "previous_as_of", "provision_rates", "graded_all"])
    return run


def claim_chunk(chunk_id: int) -> bool:
    """Compare-and-swap: only one worker runs a chunk; a chunk left running by a dead worker is reclaimed when stale."""
    stale = timezone.now() - timedelta(seconds=settings.BATCH_CHUNK_STALE_SECONDS)
    return bool(
        BatchChunk.objects.filter(pk=chunk_id)
        .filter(Q(status__in=[BatchChunk.PENDING, BatchChunk.FAILED]) | Q(status=BatchChunk.RUNNING, started_at__lt=stale))
        .update(status=BatchChunk.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1)
    )


def run_chunk(chunk_id: int) -> bool:
    """Run one chunk; True when it was the run's last and this call finished the run."""
    if not claim_chunk(chunk_id):
        return False
    chunk = BatchChunk.objects.select_related("run").get(pk=chunk_id)
    run = chunk.run
    BatchRun.objects.filter(pk=run.pk, started_at__isnull=True).update(started_at=timezone.now())
    BatchRun.objects.filter(pk=run.pk).exclude(status=BatchRun.DONE).update(status=BatchRun.RUNNING)
    try:
        graded, changed = process_chunk(as_of=run.as_of, lo=chunk.lo, hi=chunk.hi, previous=run.previous_as_of,
                                       full=run.graded_all, midway=lambda: fault_injection(chunk))
    except Exception as exc:
        BatchChunk.objects.filter(pk=chunk.pk).update(status=BatchChunk.FAILED, error=repr(exc)[:2000])
        BatchRun.objects.filter(pk=run.pk).update(status=BatchRun.FAILED, error=f"chunk {chunk.lo}–{chunk.hi}: {exc!r}"[:2000])
        log.exception("nightly batch chunk %s–%s of %s failed", chunk.lo, chunk.hi, run.as_of)
        raise
    with transaction.atomic():
        BatchChunk.objects.filter(pk=chunk.pk).update(status=BatchChunk.DONE, finished_at=timezone.now(), loans=graded,
                                                      changed=changed, error="")
        run = BatchRun.objects.select_for_update().get(pk=run.pk)
        done = run.chunks.filter(status=BatchChunk.DONE).count()
        run.chunks_done = done
        run.save(update_fields=["chunks_done"])
        last = done == run.chunks_total and run.status != BatchRun.DONE
    return last and finish_run(run.pk)


def finish_run(run_id: int) -> bool:
    """The snapshot and the run's totals; True when this call finished the run (False: it was done already)."""
    with transaction.atomic():
        run = BatchRun.objects.select_for_update().get(pk=run_id)
        if run.status == BatchRun.DONE:
            return False
        started = time.perf_counter()
        borrowers = write_snapshot(run.as_of)
        LAST_TIMINGS["snapshot with the borrowers"] = time.perf_counter() - started
        started = time.perf_counter()
        interest = _period_interest(run.as_of)
        LAST_TIMINGS["period interest"] = time.perf_counter() - started
        run.borrowers = borrowers
        run.period_interest_due, run.period_interest_received = interest["interest_due"], interest["interest_received"]
        from postloan import monitoring_batch

        monitoring_batch.run(run.as_of, run.previous_as_of)  # signals, checks falling due, reminders (issue 18)
        run.loans = DailySnapshot.objects.filter(as_of=run.as_of, status=Status.ACTIVE).aggregate(n=Sum("loans"))["n"] or 0
        run.loans_changed = sum(run.chunks.values_list("changed", flat=True))
        if connection.vendor == "postgresql" and run.loans_changed > ANALYZE_SHARE * max(run.loans, 1):
            # A run that regraded much of the book (the first one, new provision rates): fresh statistics keep the
            # drill-downs and tomorrow's candidates on their indexes (stale ones made PostgreSQL scan a million
            # rows for "overdue loans, page 3"). A quiet night's few changes are left to autovacuum.
            with connection.cursor() as cur:
                cur.execute(f"ANALYZE {LOAN}, postloan_collectioncase, postloan_escalationtask")
        run.status, run.finished_at, run.error = BatchRun.DONE, timezone.now(), ""
        run.save(update_fields=["loans", "loans_changed", "status", "finished_at", "error", "borrowers",
                                "period_interest_due", "period_interest_received"])
    from postloan import book

    book.forget()
    log.debug("nightly batch %s done: %s loans, %s changed", run.as_of, run.loans, run.loans_changed)
    return True


def _period_interest(as_of: date) -> dict:
    """收息率's default period (the 30 days ending on ``as_of``): the interest due and paid on its installments, read
    from the ``installment_period_interest`` index (a month of installments, not the whole table)."""
    from postloan.reports import PERIOD_DAYS, interest_collection

    return interest_collection(as_of - timedelta(days=PERIOD_DAYS - 1), as_of)


def dates_to_run(as_of: date) -> list[date]:
    """Missed days are caught up in date order: every date after the latest earlier run, up to ``as_of``.

    (An earlier run that has not finished is resumed first: runs are dispatched oldest first.)
    """
    last = BatchRun.objects.filter(as_of__lt=as_of).aggregate(m=Max("as_of"))["m"]
    if last is None:
        return [as_of]
    return [last + timedelta(days=n) for n in range(1, (as_of - last).days + 1)]


def fault_injection(chunk: BatchChunk) -> None:
    """Fault tests: a chunk whose lower bound is listed fails half-way (graded, nothing written yet), and
    ``BATCH_FAULT_STALL_SECONDS`` stalls every chunk half-way so that a test can kill the worker running it."""
    if chunk.lo in FAIL_CHUNKS_AT:
        raise RuntimeError(f"injected failure in chunk starting at {chunk.lo}")
    stall = float(os.environ.get("BATCH_FAULT_STALL_SECONDS", "0") or 0)
    if stall:
        time.sleep(stall)


FAIL_CHUNKS_AT: set[int] = set()
