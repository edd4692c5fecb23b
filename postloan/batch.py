"""The nightly batch (SPEC §6), set-based: a handful of SQL statements per chunk of loan ids, never a save() per loan.

Per chunk and as-of date D, in one transaction:
1. penalty interest for the days since it was last accrued, on each overdue installment's unpaid principal and
   interest, at contract rate × (1 + penalty_markup) / 360 a day (accrued unrounded, shown in cents);
2. collection cases: opened when a loan falls overdue, re-tiered and re-owned when it crosses 30 or 90 days
   (with escalation tasks), closed when it is paid up;
3. each loan's days past due, tier, five-level grade (2023 floors, restructuring observation, the upgrade rule,
   a manual floor) and provision, written only where something changed.
Then, once every chunk is done: the day's portfolio snapshot and, at month end, each loan's month-end row.

Idempotent for one date (penalty_through, "only where changed", unique cases and tasks), resumable (chunks are
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
from django.db.models import F, Max, Min, Q
from django.utils import timezone

from applications.models import Loan, Status
from loancenter.lib.dates import add_months
from postloan.models import GRADES, BatchChunk, BatchRun, ProvisionRate

log = logging.getLogger(__name__)

DEFAULT_PROVISION_RATES = {
    "normal": Decimal("0.01"), "special_mention": Decimal("0.02"), "substandard": Decimal("0.25"),
    "doubtful": Decimal("0.50"), "loss": Decimal("1.00"),
}
# 《商业银行金融资产风险分类办法》(2023): days-past-due floors of each grade.
GRADE_FLOORS = [(0, "normal"), (90, "special_mention"), (270, "substandard"), (360, "doubtful")]  # above 360: loss
OBSERVATION_MONTHS = 12  # restructured loans: at least 关注 for 2 periods and at least 1 year (monthly: 1 year)
CURE_MONTHS = 6  # NPL upgrade: arrears repaid and 2 periods or 6 months, the longer (monthly: 6 months)


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


def _new_dpd(alias: str = "l") -> str:
    return (f"(CASE WHEN {alias}.oldest_unpaid_due IS NOT NULL AND {alias}.oldest_unpaid_due < {_d('d')} "
            f"THEN {_sql_days(_d('d'), f'{alias}.oldest_unpaid_due')} ELSE 0 END)")


def _tier(dpd: str) -> str:
    return f"(CASE WHEN {dpd} = 0 THEN '' WHEN {dpd} <= 30 THEN 'T1' WHEN {dpd} <= 90 THEN 'T2' ELSE 'T3' END)"


_CHUNK = "l.status = 'active' AND l.id >= %(lo)s AND l.id < %(hi)s"


def _accrue_penalty(cur, params: dict) -> None:
    base = "((i.principal - i.paid_principal) + (i.interest - i.paid_interest))"
    since = _sql_greatest("i.due_date", "COALESCE(i.penalty_through, i.due_date)")
    accrued = (f"(i.penalty_accrued + {base} * l.annual_rate * (1 + p.penalty_markup) / 360 "
               f"* {_sql_days(_d('d'), since)})")
    cur.execute(
        f"""
        UPDATE postloan_installment AS i
           SET penalty_accrued = {accrued},
               penalty = ROUND({accrued}, 2),
               penalty_through = {_d('d')},
               status = 'overdue'
          FROM applications_loan AS l JOIN applications_product AS p ON p.id = l.product_id
         WHERE i.loan_id = l.id AND {_CHUNK} AND l.oldest_unpaid_due < {_d('d')}
           AND i.paid_off_on IS NULL AND i.due_date < {_d('d')}
           AND (i.penalty_through IS NULL OR i.penalty_through < {_d('d')})
        """,
        params,
    )


def _collection_cases(cur, params: dict) -> None:
    dpd = _new_dpd()
    tier = _tier(dpd)
    owner_post = f"(CASE WHEN {dpd} <= 30 THEN 'marketing' ELSE 'general' END)"
    owner = f"(CASE WHEN {dpd} <= 30 THEN l.marketing_officer_id ELSE NULL END)"
    # Paid up: the case closes.
    cur.execute(
        f"""
        UPDATE postloan_collectioncase AS c SET closed_on = {_d('d')}
          FROM applications_loan AS l
         WHERE c.closed_on IS NULL AND c.loan_id = l.id AND {_CHUNK} AND {dpd} = 0
        """,
        params,
    )
    # Newly overdue: a case opens, owned by the tier's post.
    cur.execute(
        f"""
        INSERT INTO postloan_collectioncase (loan_id, opened_on, tier, owner_post, owner_id)
        SELECT l.id, {_d('d')}, {tier}, {owner_post}, {owner}
          FROM applications_loan AS l
         WHERE {_CHUNK} AND l.oldest_unpaid_due < {_d('d')}
           AND NOT EXISTS (SELECT 1 FROM postloan_collectioncase c WHERE c.loan_id = l.id AND c.closed_on IS NULL)
        """,
        params,
    )
    # Crossing 30 or 90 days: escalation tasks (created once per case).
    tasks = [
        ("handover_t2", f"l.days_past_due <= 30 AND {dpd} > 30", "1=1"),
        ("legal_action", f"l.days_past_due <= 90 AND {dpd} > 90", "1=1"),
        ("guarantor_demand", f"l.days_past_due <= 90 AND {dpd} > 90",
         "EXISTS (SELECT 1 FROM applications_guarantor g WHERE g.loan_id = l.id)"),
        ("insurance_claim", f"l.days_past_due <= 90 AND {dpd} > 90",
         "l.product_id IN (SELECT id FROM applications_product WHERE category IN ('housing', 'auto'))"),
    ]
    for kind, crossing, applies in tasks:
        cur.execute(
            f"""
            INSERT INTO postloan_escalationtask (case_id, loan_id, kind, created_on, note)
            SELECT c.id, l.id, '{kind}', {_d('d')}, ''
              FROM applications_loan AS l JOIN postloan_collectioncase AS c ON c.loan_id = l.id AND c.closed_on IS NULL
             WHERE {_CHUNK} AND l.oldest_unpaid_due < {_d('d')} AND {crossing} AND {applies}
               AND NOT EXISTS (SELECT 1 FROM postloan_escalationtask t WHERE t.case_id = c.id AND t.kind = '{kind}')
            """,
            params,
        )
    # Re-tier open cases (and reassign: T1 to the loan's officer, T2/T3 to the general post).
    cur.execute(
        f"""
        UPDATE postloan_collectioncase AS c
           SET tier = {tier}, owner_post = {owner_post}, owner_id = {owner}
          FROM applications_loan AS l
         WHERE c.loan_id = l.id AND c.closed_on IS NULL AND {_CHUNK} AND l.oldest_unpaid_due < {_d('d')}
           AND c.tier <> {tier}
        """,
        params,
    )


# A loan that is current, was current, sits at 正常 with no floor or hold, and whose provision is right has nothing
# to change tonight; skipping it keeps the nightly run proportional to the loans that move.
def _candidate() -> str:
    return (
        f"(l.oldest_unpaid_due < {_d('d')} OR l.days_past_due > 0 OR l.grade <> 'normal' OR l.manual_grade <> '' "
        "OR l.restructured_on IS NOT NULL OR l.npl_cure_start IS NOT NULL "
        "OR l.provision <> ROUND(l.outstanding_principal * %(rate_normal)s, 2))"
    )


def _grade_loans(cur, params: dict) -> None:
    rate_case = "(CASE n.new_rank " + " ".join(f"WHEN {i} THEN %(rate_{g})s" for i, g in enumerate(GRADES)) + " END)"
    grade_name = "(CASE n.new_rank " + " ".join(f"WHEN {i} THEN '{g}'" for i, g in enumerate(GRADES)) + " END)"
    dpd_rank = ("(CASE WHEN a.nd = 0 THEN 0 WHEN a.nd <= 90 THEN 1 WHEN a.nd <= 270 THEN 2 "
                "WHEN a.nd <= 360 THEN 3 ELSE 4 END)")
    cured = f"(a.prev_rank >= 2 AND a.nd = 0 AND a.npl_cure_start IS NOT NULL AND a.npl_cure_start <= {_d('cure_cutoff')})"
    restr_rank = f"(CASE WHEN a.restructured_on IS NOT NULL AND a.new_obs >= {_d('d')} THEN 1 ELSE 0 END)"
    hold_rank = f"(CASE WHEN a.prev_rank >= 2 AND NOT {cured} THEN a.prev_rank ELSE 0 END)"
    new_cure = f"(CASE WHEN a.prev_rank >= 2 AND a.nd = 0 AND NOT {cured} THEN COALESCE(a.npl_cure_start, {_d('d')}) ELSE NULL END)"
    cur.execute(
        f"""
        UPDATE applications_loan
           SET days_past_due = n.nd, collection_tier = n.tier, grade = {grade_name},
               provision = ROUND(n.outstanding_principal * {rate_case}, 2),
               npl_cure_start = n.new_cure, observation_until = n.new_obs
          FROM (
                SELECT a.id, a.nd, a.outstanding_principal, {_tier('a.nd')} AS tier, a.new_obs, {new_cure} AS new_cure,
                       {_sql_greatest(dpd_rank, restr_rank, "a.manual_rank", hold_rank)} AS new_rank
                  FROM (
                        SELECT l.id, {_new_dpd()} AS nd, l.outstanding_principal, l.restructured_on, l.npl_cure_start,
                               {_rank('l.grade')} AS prev_rank, {_rank('l.manual_grade')} AS manual_rank,
                               (CASE WHEN l.restructured_on IS NOT NULL AND {_new_dpd()} > 0 THEN {_d('obs_restart')}
                                     ELSE l.observation_until END) AS new_obs
                          FROM applications_loan AS l
                         WHERE {_CHUNK} AND {_candidate()}
                       ) AS a
               ) AS n
         WHERE applications_loan.id = n.id
           AND (applications_loan.days_past_due IS DISTINCT FROM n.nd
                OR applications_loan.collection_tier IS DISTINCT FROM n.tier
                OR applications_loan.grade IS DISTINCT FROM {grade_name}
                OR applications_loan.provision IS DISTINCT FROM ROUND(n.outstanding_principal * {rate_case}, 2)
                OR applications_loan.npl_cure_start IS DISTINCT FROM n.new_cure
                OR applications_loan.observation_until IS DISTINCT FROM n.new_obs)
        """,
        params,
    )


def process_chunk(*, as_of: date, lo: int, hi: int, midway=None) -> int:
    """Run the batch for the active loans with ids in [lo, hi); returns how many there are.

    ``midway`` is called inside the transaction after the first step (fault tests crash or stall there).
    """
    params = {"d": as_of, "lo": lo, "hi": hi, "cure_cutoff": add_months(as_of, -CURE_MONTHS),
              "obs_restart": add_months(as_of, OBSERVATION_MONTHS)}
    params.update({f"rate_{g}": r for g, r in provision_rates().items()})
    with transaction.atomic(), connection.cursor() as cur:
        for step in (_accrue_penalty, _collection_cases, _grade_loans):
            started = time.perf_counter()
            step(cur, params)
            log.debug("batch %s [%s, %s) %s: %.3f s", as_of, lo, hi, step.__name__, time.perf_counter() - started)
            if midway is not None and step is _accrue_penalty:
                midway()
        return Loan.objects.filter(status=Status.ACTIVE, id__gte=lo, id__lt=hi).count()


def write_snapshot(as_of: date) -> None:
    """The day's book (active, written-off and settled loans) by product, status, grade and tier; at month end each
    loan's row for the migration matrix."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM postloan_dailysnapshot WHERE as_of = %s", [as_of])
        cur.execute(
            f"""
            INSERT INTO postloan_dailysnapshot (as_of, product_id, status, grade, tier, loans, balance, overdue_balance, provision)
            SELECT {_d('d')}, product_id, status, grade, collection_tier, COUNT(*), SUM(outstanding_principal),
                   SUM(CASE WHEN days_past_due > 0 THEN outstanding_principal ELSE 0 END), SUM(provision)
              FROM applications_loan WHERE status IN ('active', 'written_off', 'settled')
             GROUP BY product_id, status, grade, collection_tier
            """,
            {"d": as_of},
        )
        if as_of.day == calendar.monthrange(as_of.year, as_of.month)[1]:
            month_start = timezone.make_aware(timezone.datetime(as_of.year, as_of.month, 1))
            cur.execute("DELETE FROM postloan_loanmonthend WHERE month_end = %s", [as_of])
            cur.execute(
                f"""
                INSERT INTO postloan_loanmonthend (month_end, loan_id, product_id, status, grade, balance, provision)
                SELECT {_d('d')}, id, product_id, status, grade, outstanding_principal, provision
                  FROM applications_loan
                 WHERE status IN ('active', 'written_off')
                    OR (status = 'settled' AND status_changed_at >= %(start)s)
                """,
                {"d": as_of, "start": month_start},
            )


# ---------------------------------------------------------------------------------------------------------------
# Runs and chunks


def plan_run(as_of: date) -> BatchRun:
    """The run for ``as_of`` with its chunks (created once; a re-run reuses them)."""
    with transaction.atomic():
        run, _created = BatchRun.objects.select_for_update().get_or_create(as_of=as_of)
        if run.chunks_total == 0 and run.status != BatchRun.DONE:
            bounds = Loan.objects.filter(status=Status.ACTIVE).aggregate(lo=Min("id"), hi=Max("id"))
            size = settings.BATCH_CHUNK_SIZE
            ranges = []
            if bounds["lo"] is not None:
                ranges = [(lo, min(lo + size, bounds["hi"] + 1)) for lo in range(bounds["lo"], bounds["hi"] + 1, size)]
            BatchChunk.objects.bulk_create([BatchChunk(run=run, lo=lo, hi=hi) for lo, hi in ranges] or
                                           [BatchChunk(run=run, lo=0, hi=0)])
            run.chunks_total = max(len(ranges), 1)
            run.save(update_fields=["chunks_total"])
    return run


def claim_chunk(chunk_id: int) -> bool:
    """Compare-and-swap: only one worker runs a chunk; a chunk left running by a dead worker is reclaimed when stale."""
    stale = timezone.now() - timedelta(seconds=settings.BATCH_CHUNK_STALE_SECONDS)
    return bool(
        BatchChunk.objects.filter(pk=chunk_id)
        .filter(Q(status__in=[BatchChunk.PENDING, BatchChunk.FAILED]) | Q(status=BatchChunk.RUNNING, started_at__lt=stale))
        .update(status=BatchChunk.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1)
    )


def run_chunk(chunk_id: int) -> None:
    if not claim_chunk(chunk_id):
        return
    chunk = BatchChunk.objects.select_related("run").get(pk=chunk_id)
    run = chunk.run
    BatchRun.objects.filter(pk=run.pk, started_at__isnull=True).update(started_at=timezone.now())
    BatchRun.objects.filter(pk=run.pk).exclude(status=BatchRun.DONE).update(status=BatchRun.RUNNING)
    try:
        loans = process_chunk(as_of=run.as_of, lo=chunk.lo, hi=chunk.hi, midway=lambda: fault_injection(chunk))
    except Exception as exc:
        BatchChunk.objects.filter(pk=chunk.pk).update(status=BatchChunk.FAILED, error=repr(exc)[:2000])
        BatchRun.objects.filter(pk=run.pk).update(status=BatchRun.FAILED, error=f"chunk {chunk.lo}–{chunk.hi}: {exc!r}"[:2000])
        log.exception("nightly batch chunk %s–%s of %s failed", chunk.lo, chunk.hi, run.as_of)
        raise
    with transaction.atomic():
        BatchChunk.objects.filter(pk=chunk.pk).update(status=BatchChunk.DONE, finished_at=timezone.now(), loans=loans, error="")
        run = BatchRun.objects.select_for_update().get(pk=run.pk)
        done = run.chunks.filter(status=BatchChunk.DONE).count()
        run.chunks_done = done
        run.save(update_fields=["chunks_done"])
        last = done == run.chunks_total and run.status != BatchRun.DONE
    if last:
        finish_run(run.pk)


def finish_run(run_id: int) -> None:
    with transaction.atomic():
        run = BatchRun.objects.select_for_update().get(pk=run_id)
        if run.status == BatchRun.DONE:
            return
        write_snapshot(run.as_of)
        if connection.vendor == "postgresql":
            # The run rewrote days past due, tiers and grades: fresh statistics keep the drill-downs on their
            # indexes (stale ones made PostgreSQL scan a million rows for "overdue loans, page 3").
            with connection.cursor() as cur:
                cur.execute("ANALYZE applications_loan")
        from postloan.reports import PERIOD_DAYS, interest_collection

        interest = interest_collection(run.as_of - timedelta(days=PERIOD_DAYS - 1), run.as_of)
        run.period_interest_due, run.period_interest_received = interest["interest_due"], interest["interest_received"]
        run.borrowers = Loan.objects.filter(status=Status.ACTIVE).values("customer_id").distinct().count()
        run.loans = sum(run.chunks.values_list("loans", flat=True))
        run.status, run.finished_at, run.error = BatchRun.DONE, timezone.now(), ""
        run.save(update_fields=["loans", "status", "finished_at", "error", "borrowers", "period_interest_due",
                                "period_interest_received"])
    log.debug("nightly batch %s done: %s loans", run.as_of, run.loans)


def dates_to_run(as_of: date) -> list[date]:
    """Missed days are caught up in date order: every date after the latest earlier run, up to ``as_of``.

    (An earlier run that has not finished is resumed first: runs are dispatched oldest first.)
    """
    last = BatchRun.objects.filter(as_of__lt=as_of).aggregate(m=Max("as_of"))["m"]
    if last is None:
        return [as_of]
    return [last + timedelta(days=n) for n in range(1, (as_of - last).days + 1)]


def fault_injection(chunk: BatchChunk) -> None:
    """Fault tests: a chunk whose lower bound is listed fails half-way (after penalties, before grades), and
    ``BATCH_FAULT_STALL_SECONDS`` stalls every chunk half-way so that a test can kill the worker running it."""
    if chunk.lo in FAIL_CHUNKS_AT:
        raise RuntimeError(f"injected failure in chunk starting at {chunk.lo}")
    stall = float(os.environ.get("BATCH_FAULT_STALL_SECONDS", "0") or 0)
    if stall:
        time.sleep(stall)


FAIL_CHUNKS_AT: set[int] = set()
