"""LPR repricing in the nightly batch (SPEC §15, §16.33), set-based like the rest of the batch (``postloan.batch``).

An LPR-linked loan has a ``RateClock`` with ``next_repricing_on`` (set at disbursement: the first anniversary of the value date, or the
next 1 January, as its contract chose). For a chunk of loan ids and as-of date D, in the chunk's transaction:

1. the **due loans**: active, ``next_repricing_on`` (R) on or before D (index ``loan_repricing_due``), with the LPR in
   force on R (the latest confirmed publication on or before R) and their new rate = that LPR + the kept spread;
2. their **repriced installments**: those whose period starts on or after R (the previous installment's due date is
   on or after R), not yet due on D and untouched by any payment. Paid installments never change; overdue ones keep
   their amounts (§16.33);
3. the scheduled principal of those installments, P, is **re-amortised over them** at the new rate with the schedule
   builder's rules (``postloan.schedule``): interest of a period = balance × rate / 12 rounded half-up to the cent;
   equal installment: the annuity of (P, rate, n) rounded to the cent, the last installment absorbing the rounding, a
   cent lower where the rounding would repay the principal early; equal principal: P / n to the cent, the last one
   absorbing; interest-only: the principal at the end. So the principal still sums to the loan amount exactly;
4. the installments are rewritten (``repriced_on`` = R), the loan's clock (``RateClock``: current rate, next repricing
   date) moved a year on (none once no installment is left after it), a ``Repricing`` row written and a borrower notice queued
   (``postloan_notice``, kind ``repriced``, sent by the beat from 08:00 the next morning, postloan.notices).

Arithmetic: amounts in integer cents and rates in millionths, so that SQLite (tests) and PostgreSQL give the same
cents, and interest is exactly balance × rate / 12 rounded half-up (SPEC §5). The annuity factor of each (rate,
remaining installments) pair is computed once per group in Python with the builder's formula (``_rates``): a night has
a handful of rates and at most a few hundred terms, so a few rows whatever the number of loans; every loan's figures
are computed in SQL (one recursive statement over the repriced installments). No Python code runs per loan.

Idempotent: a repriced loan's repricing date has moved past D, so the same date again finds nothing; the records
and notices are unique per (loan, date) anyway. A missed night is caught up because the batch runs every missed date in
order (``batch.dates_to_run``) and a loan whose date passed unrepriced is due on any later night (R ≤ D).
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection

from applications.catalog import LPR_RATE_TYPES, REPRICING_JANUARY
from applications.lpr.models import LprPublication
from applications.models import Loan
from loancenter.lib.dates import add_months
from loancenter.lib.money import EQUAL_INSTALLMENT, EQUAL_PRINCIPAL, monthly_rate
from postloan.models import Installment, RateClock, Repricing
from postloan.monitoring_batch import _plus_months, params_for
from postloan.monitoring_models import Notice

LOAN = Loan._meta.db_table
INSTALLMENT = Installment._meta.db_table
LPR = LprPublication._meta.db_table
REPRICING = Repricing._meta.db_table
CLOCK = RateClock._meta.db_table
NOTICE = Notice._meta.db_table

_WORK = "repricing_work"  # per-connection: tonight's due loans of the chunk
_ROWS = "repricing_rows"  # ... and their repriced installments' new figures
_RATES = "repricing_rates"  # per rate: the half-cent direction; per (rate, n): the annuity factor
MICRO = 1_000_000  # rates are kept in millionths (6 decimal places)

LAST_TIMINGS: dict[str, float] = {}


def first_repricing_on(rule: str, value_date: date) -> date:
    """The first repricing date after the value date: its first anniversary, or the next 1 January (§16.31)."""
    if rule == REPRICING_JANUARY:
        return date(value_date.year + 1, 1, 1)
    return add_months(value_date, 12)


def start_rate(loan: Loan, *, value_date: date, last_due: date) -> None:
    """At disbursement: an LPR-linked loan's clock starts at the kept rate, with its first repricing date (none when
    the loan ends before it)."""
    if loan.rate_type not in LPR_RATE_TYPES or loan.spread_bp is None:
        return
    first = first_repricing_on(loan.repricing_rule or "anniversary", value_date)
    RateClock.objects.update_or_create(loan=loan, defaults={"current_rate": loan.annual_rate,
                                                            "next_repricing_on": first if first < last_due else None})


def _d(name: str) -> str:
    return f"CAST(%({name})s AS DATE)" if connection.vendor == "postgresql" else f"%({name})s"


def _ts(name: str) -> str:
    return f"CAST(%({name})s AS TIMESTAMPTZ)" if connection.vendor == "postgresql" else f"%({name})s"


def _cents(sql: str) -> str:
    return f"CAST(ROUND({sql} * 100) AS BIGINT)"


def _micro(sql: str) -> str:
    return f"CAST(ROUND({sql} * {MICRO}) AS BIGINT)"


def _tables(cur) -> None:
    temp = "TEMPORARY"
    cur.execute(f"""CREATE {temp} TABLE IF NOT EXISTS {_WORK} (
        id BIGINT PRIMARY KEY, r DATE NOT NULL, method VARCHAR(20) NOT NULL, old_rate NUMERIC(7, 6),
        spread_bp INTEGER NOT NULL, pub_on DATE NOT NULL, lpr NUMERIC(7, 6) NOT NULL, rate_m BIGINT NOT NULL,
        k0 INTEGER, kn INTEGER, n INTEGER NOT NULL DEFAULT 0, p BIGINT NOT NULL DEFAULT 0,
        pay BIGINT NOT NULL DEFAULT 0, level BIGINT NOT NULL DEFAULT 0)""")
    cur.execute(f"""CREATE {temp} TABLE IF NOT EXISTS {_ROWS} (
        id BIGINT NOT NULL, k INTEGER NOT NULL, bal BIGINT NOT NULL, prin BIGINT NOT NULL, intr BIGINT NOT NULL,
        PRIMARY KEY (id, k))""")
    cur.execute(f"""CREATE {temp} TABLE IF NOT EXISTS {_RATES} (
        rate_m BIGINT NOT NULL, n INTEGER NOT NULL, factor NUMERIC(40, 30) NOT NULL,
        PRIMARY KEY (rate_m, n))""")
    for table in (_WORK, _ROWS, _RATES):
        cur.execute(f"DELETE FROM {table}")


def _due_loans(cur, params: dict) -> int:
    """Step 1: the chunk's loans whose repricing date has come, with the LPR in force that day and the new rate."""
    types = ", ".join(f"'{t}'" for t in sorted(LPR_RATE_TYPES))
    due = (f"c.next_repricing_on <= {_d('d')} AND c.loan_id >= %(lo)s AND c.loan_id < %(hi)s")
    # The publication in force on each repricing date, looked up once per date (a night has one, a catch-up a few).
    in_force = (f"(SELECT p.id FROM {LPR} AS p WHERE p.status = 'confirmed' AND p.published_on <= x.r "
                f"ORDER BY p.published_on DESC LIMIT 1)")
    lpr = "(CASE WHEN l.rate_type = 'lpr_5y' THEN p.lpr_5y ELSE p.lpr_1y END)"
    cur.execute(
        f"""
        INSERT INTO {_WORK} (id, r, method, old_rate, spread_bp, pub_on, lpr, rate_m)
        SELECT l.id, c.next_repricing_on, l.approved_method, c.current_rate, l.spread_bp, p.published_on, {lpr},
               {_micro(lpr)} + l.spread_bp * 100
          FROM {CLOCK} AS c JOIN {LOAN} AS l ON l.id = c.loan_id
               JOIN (SELECT x.r, {in_force} AS pub FROM (SELECT DISTINCT c.next_repricing_on AS r FROM {CLOCK} AS c
                                                         WHERE {due}) AS x) AS f ON f.r = c.next_repricing_on
               JOIN {LPR} AS p ON p.id = f.pub
         WHERE {due} AND l.status = 'active' AND l.rate_type IN ({types}) AND l.spread_bp IS NOT NULL
        """,
        params,
    )
    count = cur.rowcount
    if count:
        # Which installments reprice: period start (the previous due date) on or after R, not due yet, untouched.
        cur.execute(
            f"""
            UPDATE {_WORK} SET k0 = s.k0, kn = s.kn, n = s.n, p = s.p
              FROM (SELECT i.loan_id, MIN(i.number) AS k0, MAX(i.number) AS kn, COUNT(*) AS n,
                           {_cents('SUM(i.principal)')} AS p
                      FROM {_WORK} AS w
                           JOIN {INSTALLMENT} AS i ON i.loan_id = w.id
                           JOIN {INSTALLMENT} AS b ON b.loan_id = i.loan_id AND b.number = i.number - 1
                     WHERE b.due_date >= w.r AND i.due_date >= {_d('d')} AND i.paid_off_on IS NULL
                       AND i.paid_principal = 0 AND i.paid_interest = 0 AND i.paid_penalty = 0
                     GROUP BY i.loan_id) AS s
             WHERE {_WORK}.id = s.loan_id
            """,
            params,
        )
        if connection.vendor == "postgresql":
            cur.execute(f"ANALYZE {_WORK}")
    return count


def _rates(cur) -> int:
    """Step 2, per group: the annuity factor of each (new rate, installments left) of an equal-installment loan, with
    the builder's formula (``loancenter.lib.money.equal_installment_payment``): a few rows, whatever the loans."""
    cur.execute(f"SELECT DISTINCT rate_m, n FROM {_WORK} WHERE n > 0 AND method = %s", [EQUAL_INSTALLMENT])
    rows = []
    for rate_m, n in cur.fetchall():
        r = monthly_rate(Decimal(int(rate_m)) / MICRO)
        growth = (1 + r) ** int(n)
        rows.append((int(rate_m), int(n), str(r * growth / (growth - 1))))
    if rows:
        cur.executemany(f"INSERT INTO {_RATES} (rate_m, n, factor) VALUES (%s, %s, %s)", rows)
    # The installment: equal installment's annuity of P, equal principal's level share of P, both to the cent.
    cur.execute(
        f"""
        UPDATE {_WORK} SET pay = COALESCE((SELECT CAST(ROUND({_WORK}.p * f.factor) AS BIGINT) FROM {_RATES} AS f
                                            WHERE f.rate_m = {_WORK}.rate_m AND f.n = {_WORK}.n), 0),
                           level = (2 * p + n) / (2 * n)
         WHERE n > 0
        """
    )
    return len(rows)


def _interest(bal: str) -> str:
    """Interest of a period in cents: balance × rate / 12 rounded half-up (SPEC §5), exactly, in integers."""
    den = 12 * MICRO
    return f"((2 * {bal} * w.rate_m + {den}) / {2 * den})"


def _principal(bal: str, intr: str, k: str) -> str:
    """The principal of installment ``k`` with balance ``bal`` before it (never more than the balance)."""
    raw = (f"(CASE WHEN {k} = w.kn THEN {bal} WHEN w.method = '{EQUAL_INSTALLMENT}' THEN w.pay - {intr} "
           f"WHEN w.method = '{EQUAL_PRINCIPAL}' THEN w.level ELSE 0 END)")
    return f"(CASE WHEN {raw} > {bal} THEN {bal} ELSE {raw} END)"


def _amortise(cur, only_early: bool = False) -> None:
    """Step 3: every due loan's repriced installments, one recursive statement (one level per installment)."""
    which = "w.n > 0" + (" AND w.id IN (SELECT id FROM repricing_early)" if only_early else "")
    first_i = _interest("w.p")
    next_i = _interest("(a.bal - a.prin)")
    cur.execute(
        f"""
        INSERT INTO {_ROWS} (id, k, bal, prin, intr)
        WITH RECURSIVE am (id, k, bal, prin, intr) AS (
            SELECT w.id, w.k0, w.p, {_principal('w.p', first_i, 'w.k0')}, {first_i}
              FROM {_WORK} AS w
             WHERE {which}
            UNION ALL
            SELECT a.id, a.k + 1, a.bal - a.prin, {_principal('(a.bal - a.prin)', next_i, '(a.k + 1)')}, {next_i}
              FROM am AS a JOIN {_WORK} AS w ON w.id = a.id
             WHERE a.k < w.kn
        )
        SELECT id, k, bal, prin, intr FROM am
        """
    )


def _early_cent(cur) -> int:
    """The builder's rule: where the rounded annuity would repay the principal before the last installment, the
    installment is a cent lower (repeated while it still does). Rare; only those loans are computed again."""
    rounds = 0
    cur.execute("CREATE TEMPORARY TABLE IF NOT EXISTS repricing_early (id BIGINT PRIMARY KEY)")
    while True:
        cur.execute("DELETE FROM repricing_early")
        cur.execute(
            f"""INSERT INTO repricing_early (id)
                SELECT DISTINCT r.id FROM {_ROWS} AS r JOIN {_WORK} AS w ON w.id = r.id
                 WHERE w.method = '{EQUAL_INSTALLMENT}' AND r.k < w.kn AND w.pay > 1
                   AND w.pay - r.intr >= r.bal"""
        )
        if cur.rowcount == 0 or rounds > 10_000:
            return rounds
        rounds += 1
        cur.execute(f"DELETE FROM {_ROWS} WHERE id IN (SELECT id FROM repricing_early)")
        cur.execute(f"UPDATE {_WORK} SET pay = pay - 1 WHERE id IN (SELECT id FROM repricing_early)")
        _amortise(cur, only_early=True)


def _timed(name: str, started: float) -> float:
    now = time.perf_counter()
    LAST_TIMINGS[name] = LAST_TIMINGS.get(name, 0.0) + now - started
    return now


def _write(cur, params: dict) -> int:
    """Step 4: the installments, the loans, the records and the notices."""
    if connection.vendor == "postgresql":
        # Their sizes, so that the installments are updated by their (loan, number) index, not by a scan of them all.
        cur.execute(f"ANALYZE {_ROWS}")
        cur.execute(f"ANALYZE {_WORK}")
    t = time.perf_counter()
    money = "CAST(r.{0} AS NUMERIC) / 100" if connection.vendor == "postgresql" else "r.{0} / 100.0"
    cur.execute(
        f"""
        UPDATE {INSTALLMENT}
           SET principal = {money.format('prin')}, interest = {money.format('intr')}, repriced_on = w.r
          FROM {_ROWS} AS r JOIN {_WORK} AS w ON w.id = r.id
         WHERE {INSTALLMENT}.loan_id = r.id AND {INSTALLMENT}.number = r.k
        """
    )
    written = cur.rowcount
    t = _timed("write: installments", t)
    new_rate = f"CAST(w.rate_m AS NUMERIC) / {MICRO}" if connection.vendor == "postgresql" else f"w.rate_m * 1.0 / {MICRO}"
    cur.execute(
        f"""
        INSERT INTO {REPRICING} (loan_id, repriced_on, batch_date, lpr_published_on, lpr, spread_bp, old_rate, new_rate,
                                 installments, first_number)
        SELECT w.id, w.r, {_d('d')}, w.pub_on, w.lpr, w.spread_bp, COALESCE(w.old_rate, {new_rate}), {new_rate}, w.n, w.k0
          FROM {_WORK} AS w
         WHERE w.n > 0
        ON CONFLICT DO NOTHING
        """,
        params,
    )
    t = _timed("write: records", t)
    cur.execute(
        f"""
        INSERT INTO {NOTICE} (loan_id, kind, channel, due_date, recipient, scheduled_for, status, attempts, answer,
                              created_on)
        SELECT w.id, '{Notice.REPRICED}', '{Notice.SMS}', w.r, '', {_ts('morning')}, 'queued', 0, '', {_d('d')}
          FROM {_WORK} AS w
         WHERE w.n > 0
        ON CONFLICT DO NOTHING
        """,
        params,
    )
    t = _timed("write: notices", t)
    # The clock: the current rate (where installments were repriced) and the next repricing date a year on, or none
    # once the loan's last installment falls before that.
    last_due = f"(SELECT MAX(i.due_date) FROM {INSTALLMENT} AS i WHERE i.loan_id = {CLOCK}.loan_id)"
    next_on = _plus_months(f"{CLOCK}.next_repricing_on", "12")
    cur.execute(
        f"""
        UPDATE {CLOCK}
           SET current_rate = CASE WHEN w.n > 0 THEN {new_rate} ELSE {CLOCK}.current_rate END,
               next_repricing_on = CASE WHEN {next_on} < {last_due} THEN {next_on} ELSE NULL END
          FROM {_WORK} AS w
         WHERE {CLOCK}.loan_id = w.id
        """,
        params,
    )
    _timed("write: clocks", t)
    return written


def reprice_chunk(cur, *, as_of: date, lo: int, hi: int) -> int:
    """Reprice the loans of ids [lo, hi) whose repricing date is on or before ``as_of`` (inside the chunk's
    transaction, ``postloan.batch.process_chunk``); returns how many loans were due."""
    params = {"d": as_of, "lo": lo, "hi": hi, "morning": params_for(as_of, as_of - timedelta(days=1))["morning"]}
    started = time.perf_counter()
    cur.execute(f"SELECT 1 FROM {CLOCK} WHERE next_repricing_on <= {_d('d')} "
                f"AND loan_id >= %(lo)s AND loan_id < %(hi)s LIMIT 1", params)
    if cur.fetchone() is None:  # the usual chunk: nothing reprices (one index probe)
        LAST_TIMINGS["probe"] = LAST_TIMINGS.get("probe", 0.0) + time.perf_counter() - started
        return 0
    _tables(cur)
    due = 0
    for step in (_due_loans, _rates, _amortise, _early_cent, _write):
        t = time.perf_counter()
        result = step(cur, params) if step in (_due_loans, _write) else step(cur)  # type: ignore[operator]
        due = result if step is _due_loans else due
        if step is not _write:  # the writes are timed statement by statement
            _timed(step.__name__.lstrip("_"), t)
    return due


