"""LPR repricing in the nightly batch (SPEC §15, §16.33), set-based like the rest of the batch (``postloan.batch``).

An LPR-linked loan has a ``RateClock`` with ``next_repricing_on`` (set at disbursement: the first anniversary of the value date, or the
next 1 January, as its contract chose). For a chunk of loan ids and as-of date D, in the chunk's transaction:

1. the **due loans**: active, ``next_repricing_on`` (R) on or before D (index ``rateclock_due``), with the LPR in
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
   (``postloan_notice``, kind ``repriced``, sent by the beat from 08:00 the next morning, postloan.notices). A loan
   with an installment due on or after R but none repriced (a bullet loan, or a last installment whose period began
   before R) still changes rate on R: record (0 installments), notice and clock — the rate in force from R
   (``postloan.models.RateHistory``) for what servicing computes later, e.g. an extension's added months.

Arithmetic: amounts in integer cents and rates in millionths, so that SQLite (tests) and PostgreSQL give the same
cents, and interest is exactly balance × rate / 12 rounded half-up (SPEC §5).

Passes (issue 19, the 1 January night): on PostgreSQL steps 1–4 are **one statement** — the due loans, their
installments due on or after R read once (an index probe per due loan) in (loan, number) order with one level of
window functions (a period starts on or after R unless it is the loan's first installment due on or after R; each
repriced row's place, their count and principal), and the writes as data-modifying CTEs: the installments
(closed form for equal principal and interest-only: the balance before the idx-th repriced installment is
max(P − idx·L, 0)), the records, the notices and the clocks. Equal installment has no closed form (each period's
rounding feeds the next balance): the same statement sets aside one row per such loan (P, n, the new rate, R and its
repriced installments' places in order), and a second statement re-amortises them recursively — each loan's figures
carried from level to level, no join per level — and writes each row by its place, with the annuity factor of each
(rate, remaining installments) pair computed in between in Python with the builder's formula (a handful of rows
whatever the book); a loan the cent-lower rule catches is left out and computed again a cent lower. SQLite has no
data-modifying CTE and no arrays: the same SELECTs fill temporary tables of the same names, the same writes run one
by one, and the recursion's rows go through a table to an update by id. No
Python code runs per loan. Every read of the loans and clocks names the chunk's id range on each table it reads (a
range on one side of a join is not carried to the other: the lock read every loan below the chunk, ≈ 1 s for the
tenth of a 1M book); the installments are written back by their place (``_row``), found by the same statement's read.
A chunk with more due loans than a part (``_PART``, the 1 January night) runs these steps part by part, a range of ids
each, so that the pages a part's statements read are still in shared buffers when they write them.

Concurrency: before the statement (each part's) the chunk locks its due loans, as a payment locks its loan
(``_lock_due_loans``), so that a payment in flight is seen and the installment it touched keeps its figures.

Idempotent: a repriced loan's repricing date has moved past D, so the same date again finds nothing; the records
and notices are unique per (loan, date) anyway. A missed night is caught up because the batch runs every missed date in
order (``batch.dates_to_run``) and a loan whose date passed unrepriced is due on any later night (R ≤ D).
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
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

log = logging.getLogger("postloan.batch")

_EIW = "repricing_ei_loans"  # per-connection: one row per equal-installment loan repriced (rate, n, P, R, the cents
# the cent-lower rule took off its installment; on PostgreSQL also its repriced installments' places in order)
_RATES = "repricing_rates"  # ... per (rate, n): the annuity factor
_EARLY, _EARLY_NEXT = "repricing_early", "repricing_early_next"  # ... the loans the cent-lower rule computes again
_EI = "repricing_ei"  # SQLite, which has no arrays: their repriced installments (id, idx, the installment's id)
_ROWS = "repricing_rows"  # ... and their new figures
# The night's sets; on PostgreSQL the names of the CTEs of one statement, on SQLite temporary tables of the same names.
_DUE, _SEQ = "rp_due", "rp_seq"
_RECORDS = "rp_records"  # PostgreSQL: the records written by the chunk's statement (loan, R), which its notices follow
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


def resume_clock(loan: Loan, last_due: date) -> None:
    """After servicing moved the loan's maturity (an extension, a repayment plan): a stopped clock (no installment was
    left after its next date) starts again at the next repricing date after the last one recorded, when an installment
    now falls after it; the batch reprices the new installments on that date like any others."""
    if loan.rate_type not in LPR_RATE_TYPES:
        return
    clock = RateClock.objects.select_for_update().filter(loan=loan).first()
    if clock is None or clock.next_repricing_on is not None:
        return
    last = Repricing.objects.filter(loan=loan).order_by("-repriced_on").values_list("repriced_on", flat=True).first()
    day = first_repricing_on(loan.repricing_rule or "anniversary", loan.receipt.value_date)
    while last is not None and day <= last:  # the dates follow one another a year apart, as the batch moves them
        day = add_months(day, 12)
    if day < last_due:
        clock.next_repricing_on = day
        clock.save(update_fields=["next_repricing_on"])


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _row() -> str:
    """The column by which the installments' update finds each row its read found. PostgreSQL: the row's place
    (``ctid``), one page read instead of a walk down the primary key for each of a million rows (≈ 3 s of a 200k
    chunk). Safe because the chunk locked its due loans first (``_lock_due_loans``) and every other writer of
    installments locks the loan before them, so no row the read found is replaced before the update (an update by
    place is not re-checked against a newer version). SQLite: the id, which is the row's own key there."""
    return "ctid" if _pg() else "id"


@contextmanager
def _settings(cur, **values: str):
    """PostgreSQL settings for the statements inside, for this transaction only, put back as they were afterwards
    (SQLite has none). When a statement inside fails, the transaction's rollback puts them back: no query is sent
    to a transaction that has failed, which would hide the error."""
    if not _pg():
        yield
        return
    names = list(values)
    cur.execute("SELECT " + ", ".join(f"current_setting('{n}'), set_config('{n}', %s, true)" for n in names),
                [values[n] for n in names])
    before = list(cur.fetchone()[0::2])
    yield
    cur.execute("SELECT " + ", ".join(f"set_config('{n}', %s, true)" for n in names), before)


def _d(name: str) -> str:
    return f"CAST(%({name})s AS DATE)" if _pg() else f"%({name})s"


def _ts(name: str) -> str:
    return f"CAST(%({name})s AS TIMESTAMPTZ)" if _pg() else f"%({name})s"


def _cents(sql: str) -> str:
    return f"CAST(ROUND({sql} * 100) AS BIGINT)"


def _micro(sql: str) -> str:
    return f"CAST(ROUND({sql} * {MICRO}) AS BIGINT)"


def _greatest(a: str, b: str) -> str:
    return f"GREATEST({a}, {b})" if _pg() else f"MAX({a}, {b})"


def _least(a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if _pg() else f"MIN({a}, {b})"


def _interest(bal: str, rate_m: str) -> str:
    """Interest of a period in cents: balance × rate / 12 rounded half-up (SPEC §5), exactly, in integers (cents and
    millionths): ⌊(2·bal·rate + 12·10⁶) / (24·10⁶)⌋. The same cents on PostgreSQL and SQLite."""
    den = 12 * MICRO
    return f"((2 * {bal} * {rate_m} + {den}) / {2 * den})"


def _money(sql: str) -> str:
    return f"CAST({sql} AS NUMERIC) / 100" if _pg() else f"{sql} / 100.0"


# ---------------------------------------------------------------------------------------------------------------
# The night's sets: each a SELECT over the previous ones (CTEs on PostgreSQL, temporary tables on SQLite).


def _due_sql() -> str:
    """The chunk's loans whose repricing date R has come, with the LPR in force on R and their new rate (millionths)."""
    types = ", ".join(f"'{t}'" for t in sorted(LPR_RATE_TYPES))
    due = f"c.next_repricing_on <= {_d('d')} AND c.loan_id >= %(lo)s AND c.loan_id < %(hi)s"
    # The publication in force on each repricing date, looked up once per date (a night has one, a catch-up a few).
    in_force = (f"(SELECT p.id FROM {LPR} AS p WHERE p.status = 'confirmed' AND p.published_on <= x.r "
                f"ORDER BY p.published_on DESC LIMIT 1)")
    lpr = "(CASE WHEN l.rate_type = 'lpr_5y' THEN p.lpr_5y ELSE p.lpr_1y END)"
    return f"""
        SELECT l.id AS id, c.next_repricing_on AS r, l.approved_method AS method, c.current_rate AS old_rate,
               l.spread_bp AS spread_bp, p.published_on AS pub_on, {lpr} AS lpr,
               {_micro(lpr)} + l.spread_bp * 100 AS rate_m
          FROM {CLOCK} AS c JOIN {LOAN} AS l ON l.id = c.loan_id
               JOIN (SELECT x.r, {in_force} AS pub FROM (SELECT DISTINCT c.next_repricing_on AS r FROM {CLOCK} AS c
                                                         WHERE {due}) AS x) AS f ON f.r = c.next_repricing_on
               JOIN {LPR} AS p ON p.id = f.pub
         WHERE {due} AND l.id >= %(lo)s AND l.id < %(hi)s
               AND l.status = 'active' AND l.rate_type IN ({types}) AND l.spread_bp IS NOT NULL"""


def _seq_sql() -> str:
    """The due loans' installments due on or after R, read once in (loan, number) order, with window functions (two
    passes of one sort: running, and over the whole loan):

    - ``ok``: not due yet on D and untouched by any payment; ``rep`` (it reprices): ``ok`` and its period starts on or
      after R — it is not the loan's first installment due on or after R (due dates rise with the number, so the
      previous one's due date is then on or after R too);
    - for the repriced rows: ``idx``, the place among them (0…n−1), ``n`` their count and ``p`` the scheduled
      principal they carry (cents), what the re-amortisation needs — the running and whole-loan sums of ``ok`` less
      the first row's share when that one is ``ok`` (it never reprices);
    - ``pos`` = 1 on each loan's first row, which carries ``last_due`` (the loan's last due date) for the clock.
    Only the repriced rows and one per loan are kept; a due loan with no installment due on or after R keeps one row
    of its own (no installment, ``n`` = 0, no ``last_due``: its clock stops). Every column the writes need is here,
    so no write joins two of the night's sets (a CTE has no statistics: a join of two could go quadratic)."""
    ok = (f"(CASE WHEN i.due_date >= {_d('d')} AND i.paid_off_on IS NULL AND i.paid_principal = 0 "
          f"AND i.paid_interest = 0 AND i.paid_penalty = 0 THEN 1 ELSE 0 END)")
    # ``ok`` and its principal are computed once per row, below the windows (on PostgreSQL ``OFFSET 0`` keeps the
    # derived table from being merged into the query above, which would evaluate them again for every window
    # function). One sort feeds both windows; the running one counts rows (ROWS, no peers to look for), the other's
    # frame is the whole loan, summed once per loan.
    fence = "OFFSET 0" if _pg() else ""
    # PostgreSQL: an equal-installment loan's repriced installments' places in order, on its first repriced row (for
    # the recursion, which writes each by its place): the places of its ``ok`` rows less the first row's when that one
    # is ``ok``. Aggregated once per loan (the frame is the whole loan). SQLite keeps the rows (``_EI``).
    places = (f"array_agg(b.tid) FILTER (WHERE b.ok = 1 AND b.method = '{EQUAL_INSTALLMENT}') OVER a" if _pg()
              else "NULL")
    # ... so that, of an equal-installment loan's repriced rows, PostgreSQL keeps only the first (the writes read the
    # set five times: a third of the rows on an annuity book).
    kept = f"(x.idx = 0 OR x.method <> '{EQUAL_INSTALLMENT}')" if _pg() else "1 = 1"
    return f"""
        SELECT * FROM (
        SELECT s.tid, s.loan_id, s.number, s.r, s.rate_m, s.method, s.old_rate, s.spread_bp, s.pub_on, s.lpr, s.pos,
               s.last_due,
               CASE WHEN s.pos > 1 AND s.ok = 1 THEN 1 ELSE 0 END AS rep,
               s.run - s.ok1 - 1 AS idx, s.tot - s.ok1 AS n, CAST(s.totp - s.ok1p AS BIGINT) AS p,
               CASE WHEN s.pos > 1 AND s.ok = 1 AND s.run - s.ok1 = 1 THEN {"s.places[s.ok1 + 1:]" if _pg() else "NULL"}
               END AS places
          FROM (SELECT b.tid, b.loan_id, b.number, b.r, b.rate_m, b.method, b.old_rate, b.spread_bp, b.pub_on, b.lpr,
                       b.ok, ROW_NUMBER() OVER o AS pos, SUM(b.ok) OVER o AS run, {places} AS places,
                       FIRST_VALUE(b.ok) OVER o AS ok1, FIRST_VALUE(b.okp) OVER o AS ok1p,
                       SUM(b.ok) OVER a AS tot, SUM(b.okp) OVER a AS totp, MAX(b.due_date) OVER a AS last_due
                  FROM (SELECT i.{_row()} AS tid, d.id AS loan_id, i.number, i.due_date, d.r, d.rate_m, d.method,
                               d.old_rate, d.spread_bp, d.pub_on, d.lpr, {ok} AS ok, {ok} * {_cents("i.principal")} AS okp
                          FROM {_DUE} AS d
                               LEFT JOIN {INSTALLMENT} AS i ON i.loan_id = d.id AND i.due_date >= d.r {fence}) AS b
                WINDOW o AS (PARTITION BY b.loan_id ORDER BY b.number ROWS UNBOUNDED PRECEDING),
                       a AS (PARTITION BY b.loan_id ORDER BY b.number
                             ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) AS s
        ) AS x WHERE (x.rep = 1 AND {kept}) OR x.pos = 1"""


# ---------------------------------------------------------------------------------------------------------------
# The writes, each reading the sets above.


def _closed_form() -> tuple[str, str]:
    """(principal, interest) in cents of a repriced installment of ``t`` (a row of the tail), in closed form:

    - equal principal: the level share L = P / n to the cent; the balance before the idx-th is max(P − idx·L, 0) —
      the builder's running balance, since each installment repays min(L, balance) — the last takes what is left;
    - interest only (and the bullet's single installment, which never reprices): the balance is P throughout, the
      principal comes at the end.
    Interest of a period = balance × rate / 12 rounded half-up. Equal installment is not closed-form (each period's
    rounding feeds the next balance): those rows go through ``_amortise_equal_installment``."""
    level = "((2 * t.p + t.n) / (2 * t.n))"
    bal = f"(CASE WHEN t.method = '{EQUAL_PRINCIPAL}' THEN {_greatest(f't.p - t.idx * {level}', '0')} ELSE t.p END)"
    prin = (f"(CASE WHEN t.idx = t.n - 1 THEN {bal} WHEN t.method = '{EQUAL_PRINCIPAL}' THEN {_least(level, bal)} "
            f"ELSE 0 END)")
    return prin, _interest(bal, "t.rate_m")


def _writes() -> list[tuple[str, str]]:
    """(name, statement): the installments (all but equal installment's), the equal-installment loans set aside (on
    SQLite also their rows), the records, the notices, the clocks."""
    prin, intr = _closed_form()
    # The loan's rate changes on R when it still has an installment due on or after R, whether or not any reprices
    # (a bullet loan's single installment, a last one whose period began before R, keep their figures): one record and
    # notice per loan — on the first repriced row, or on its first row when none reprices.
    changes = "((t.rep = 1 AND t.idx = 0) OR (t.pos = 1 AND t.n = 0 AND t.tid IS NOT NULL))"
    new_rate = f"CAST(t.rate_m AS NUMERIC) / {MICRO}" if _pg() else f"t.rate_m * 1.0 / {MICRO}"
    next_on = _plus_months("t.r", "12")
    # A record already there for (loan, R) is kept: skipped by an index probe (NOT EXISTS), ≈ 0.3 s less a 100k chunk
    # than ON CONFLICT's speculative insertion. The notice follows the record: one is queued for each record written
    # (PostgreSQL: from the records' RETURNING, no second probe; SQLite, whose writes are statements of their own: by
    # the same probe on the records, run before them). Nothing else inserts them meanwhile: the chunk holds the loans'
    # locks, and a notice already there without its record fails the chunk on the unique constraint, not unseen.
    fresh = f"""{changes}
               AND NOT EXISTS (SELECT 1 FROM {REPRICING} AS x WHERE x.loan_id = t.loan_id AND x.repriced_on = t.r)"""
    records = f"""
            INSERT INTO {REPRICING} (loan_id, repriced_on, batch_date, lpr_published_on, lpr, spread_bp, old_rate,
                                     new_rate, installments, first_number)
            SELECT t.loan_id, t.r, {_d('d')}, t.pub_on, t.lpr, t.spread_bp, COALESCE(t.old_rate, {new_rate}), {new_rate},
                   t.n, CASE WHEN t.rep = 1 THEN t.number END
              FROM {_SEQ} AS t
             WHERE {fresh}"""
    written = f"{_RECORDS} AS t" if _pg() else f"{_SEQ} AS t WHERE {fresh}"
    notices = ("notices", f"""
            INSERT INTO {NOTICE} (loan_id, kind, channel, due_date, recipient, scheduled_for, status, attempts, answer,
                                  created_on)
            SELECT t.loan_id, '{Notice.REPRICED}', '{Notice.SMS}', t.r, '', {_ts('morning')}, 'queued', 0, '', {_d('d')}
              FROM {written}""")
    return [
        ("installments", f"""
            UPDATE {INSTALLMENT}
               SET principal = {_money(prin)}, interest = {_money(intr)}, repriced_on = t.r
              FROM {_SEQ} AS t
             WHERE {INSTALLMENT}.{_row()} = t.tid AND t.rep = 1 AND t.method <> '{EQUAL_INSTALLMENT}'"""),
        ("equal installment", f"""
            INSERT INTO {_EIW} (id, rate_m, n, p, r{", places" if _pg() else ""})
            SELECT t.loan_id, t.rate_m, t.n, t.p, t.r{", t.places" if _pg() else ""} FROM {_SEQ} AS t
             WHERE t.rep = 1 AND t.idx = 0 AND t.method = '{EQUAL_INSTALLMENT}'"""),
    ] + ([] if _pg() else [
        ("equal installment rows", f"""
            INSERT INTO {_EI} (id, idx, tid) SELECT t.loan_id, t.idx, t.tid FROM {_SEQ} AS t
             WHERE t.rep = 1 AND t.method = '{EQUAL_INSTALLMENT}'"""),
    ]) + ([("records", records), notices] if _pg() else [notices, ("records", records)]) + [
        # The clock: the current rate (where the rate changed, as the record) and the next repricing date a year on,
        # or none once the loan's last installment falls before that.
        ("clocks", f"""
            UPDATE {CLOCK}
               SET current_rate = CASE WHEN t.tid IS NOT NULL THEN {new_rate} ELSE {CLOCK}.current_rate END,
                   next_repricing_on = CASE WHEN {next_on} < t.last_due THEN {next_on} ELSE NULL END
              FROM {_SEQ} AS t
             WHERE {CLOCK}.loan_id = t.loan_id AND t.pos = 1"""),
    ]


def _tables(cur) -> None:
    """The night's per-connection tables, emptied: the equal-installment loans set aside by the chunk's statement (and
    on SQLite their rows)."""
    tables = [(_EIW, "id BIGINT PRIMARY KEY, rate_m BIGINT NOT NULL, n INTEGER NOT NULL, p BIGINT NOT NULL, "
                     "r DATE NOT NULL, less BIGINT NOT NULL DEFAULT 0" + (", places TID[] NOT NULL" if _pg() else ""))]
    if not _pg():
        tables.append((_EI, "id BIGINT NOT NULL, idx INTEGER NOT NULL, tid BIGINT NOT NULL, PRIMARY KEY (id, idx)"))
    _create(cur, tables)


def _create(cur, tables: list[tuple[str, str]]) -> None:
    for table, columns in tables:
        cur.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} ({columns})")
        cur.execute(f"DELETE FROM {table}")


def _reprice(cur, params: dict) -> tuple[int, int]:
    """Everything but the equal-installment figures, in one pass over the due loans' installments. PostgreSQL: one
    statement (the sets as CTEs, the writes as data-modifying CTEs); SQLite (tests), which has no data-modifying CTE:
    the same SELECTs into temporary tables, then the same writes one by one. Returns (due loans, equal-installment
    loans set aside)."""
    sets = [(_DUE, _due_sql()), (_SEQ, _seq_sql())]
    writes = _writes()
    if _pg():
        names = [_RECORDS if name == "records" else f"w{k}" for k, (name, _sql) in enumerate(writes)]
        returning = {_RECORDS: "loan_id, repriced_on AS r"}
        ctes = ",\n".join([f"{name} AS MATERIALIZED ({sql})" for name, sql in sets]
                          + [f"{cte} AS ({sql} RETURNING {returning.get(cte, '1')})"
                             for cte, (_name, sql) in zip(names, writes, strict=True)])
        counts = ", ".join(f"(SELECT COUNT(*) FROM {cte})" for cte in names)
        t = time.perf_counter()
        # No JIT for this one statement: its cost estimate (the whole chunk) makes PostgreSQL compile its hundred-odd
        # expressions with optimisation, 2.4 s on the 1 January bench at 100,000 loans — more than some writes.
        # And the sort that feeds the windows (≈ 60 MB a 100k chunk) in memory rather than in a file.
        with _settings(cur, jit="off", work_mem="128MB"):
            cur.execute(f"WITH {ctes}\nSELECT (SELECT COUNT(*) FROM {_DUE}), {counts}", params)
            row = cur.fetchone()
        _timed("one statement: due loans, installments, records, notices, clocks", t)
        return int(row[0]), int(row[2])
    for name, sql in sets:
        t = time.perf_counter()
        cur.execute(f"DROP TABLE IF EXISTS temp.{name}")
        cur.execute(f"CREATE TEMPORARY TABLE {name} AS {sql}", params)
        _timed(f"set: {name}", t)
    cur.execute(f"SELECT COUNT(*) FROM {_DUE}")
    due = cur.fetchone()[0]
    set_aside = 0
    for name, sql in writes:
        t = time.perf_counter()
        cur.execute(sql, params)
        set_aside = cur.rowcount if name == "equal installment" else set_aside
        _timed(f"write: {name}", t)
    return due, set_aside


# ---------------------------------------------------------------------------------------------------------------
# Equal installment: the annuity per (rate, n) and a recursion per loan (each period's rounding feeds the next).


def _amortise_equal_installment(cur) -> None:
    t = time.perf_counter()
    _create(cur, [(_RATES, "rate_m BIGINT NOT NULL, n INTEGER NOT NULL, factor NUMERIC(40, 30) NOT NULL, "
                           "PRIMARY KEY (rate_m, n)"),
                  (_EARLY, "id BIGINT PRIMARY KEY"), (_EARLY_NEXT, "id BIGINT PRIMARY KEY")])
    # The annuity factor of each (new rate, installments left), with the builder's formula
    # (``loancenter.lib.money.equal_installment_payment``): a few rows, whatever the number of loans.
    cur.execute(f"SELECT DISTINCT rate_m, n FROM {_EIW}")
    rows = []
    for rate_m, n in cur.fetchall():
        r = monthly_rate(Decimal(int(rate_m)) / MICRO)
        growth = (1 + r) ** int(n)
        rows.append((int(rate_m), int(n), str(r * growth / (growth - 1))))
    if rows:
        cur.executemany(f"INSERT INTO {_RATES} (rate_m, n, factor) VALUES (%s, %s, %s)", rows)
    t = _timed("equal installment: annuities", t)
    rounds = _write_by_place(cur) if _pg() else _write_by_id(cur)
    _timed("equal installment: amortisation and installments", t)
    log.debug("repricing: equal installment, %s rounds of the cent-lower rule", rounds)


def _amortisation(which: str = "", *, places: bool = False) -> str:
    """The recursive CTE ``am``: each equal-installment loan's repriced installments (one level per installment), the
    annuity less the period's interest, never more than the balance, the last one taking what is left. The loan's
    figures are carried from level to level (no join per level); with ``places``, also R and the installments' places
    (PostgreSQL)."""

    def principal(bal: str, intr: str, idx: str, n: str, pay: str) -> str:
        return f"(CASE WHEN {idx} = {n} - 1 THEN {bal} ELSE {_least(f'{pay} - {intr}', bal)} END)"

    # The installment: the annuity of (P, rate, n) rounded to the cent, less the cents the cent-lower rule took off.
    pay = "(CAST(ROUND(w.p * f.factor) AS BIGINT) - w.less)"

    first_i = _interest("w.p", "w.rate_m")
    next_i = _interest("(a.bal - a.prin)", "a.rate_m")
    more = ", r, places" if places else ""
    return f"""am (id, idx, bal, prin, intr, n, pay, rate_m{more}) AS (
        SELECT w.id, 0, w.p, {principal('w.p', first_i, '0', 'w.n', pay)}, {first_i}, w.n, {pay}, w.rate_m
               {more.replace(', ', ', w.')}
          FROM {_EIW} AS w JOIN {_RATES} AS f ON f.rate_m = w.rate_m AND f.n = w.n {which}
        UNION ALL
        SELECT a.id, a.idx + 1, a.bal - a.prin,
               {principal('(a.bal - a.prin)', next_i, '(a.idx + 1)', 'a.n', 'a.pay')}, {next_i},
               a.n, a.pay, a.rate_m {more.replace(', ', ', a.')}
          FROM am AS a
         WHERE a.idx < a.n - 1)"""


# The builder's rule: where the rounded annuity would repay the principal before the last installment, the installment
# is a cent lower (repeated while it still does). Rare; only those loans are computed again.
_EARLY_ROW = "am.idx < am.n - 1 AND am.pay > 1 AND am.pay - am.intr >= am.bal"
_MAX_ROUNDS = 10_000


def _write_by_place(cur) -> int:
    """PostgreSQL: one statement computes the loans' rows (``_amortisation``) and writes each by its place — but not
    those of a loan the cent-lower rule catches, which is set aside (``_EARLY_NEXT``), its installment a cent lower,
    and computed again by the same statement. Returns the rounds of that rule."""
    rounds, which = 0, ""
    while True:
        caught = f"SELECT DISTINCT am.id FROM am WHERE {_EARLY_ROW}" if rounds <= _MAX_ROUNDS else (
            "SELECT CAST(0 AS BIGINT) AS id WHERE FALSE")
        # Each row by its place (a Tid Scan), in the order of the places: the recursion yields its rows level by level
        # (every loan's first installment, then every loan's second …), and written in that order they swept the
        # part's pages once per level through shared buffers, each sweep reading again what the last one evicted.
        # Costed as a random page read each, half a million of them lose to a sequential scan of the whole table hashed
        # on its places (9.4 s of a 100k chunk, the pages being in memory anyway): sequential scans off for this
        # statement. The recursion's rows, read twice, held in memory rather than in a file.
        with _settings(cur, jit="off", enable_seqscan="off", work_mem="128MB"):
            cur.execute(
                f"""
                WITH RECURSIVE {_amortisation(which, places=True)},
                caught AS MATERIALIZED ({caught}),
                set_aside AS (INSERT INTO {_EARLY_NEXT} (id) SELECT id FROM caught RETURNING 1),
                written AS (
                    UPDATE {INSTALLMENT}
                       SET principal = {_money('am.prin')}, interest = {_money('am.intr')}, repriced_on = am.r
                      FROM (SELECT am.places[am.idx + 1] AS place, am.prin, am.intr, am.r FROM am
                             WHERE am.id NOT IN (SELECT id FROM caught) ORDER BY 1) AS am
                     WHERE {INSTALLMENT}.ctid = am.place
                    RETURNING 1)
                SELECT (SELECT COUNT(*) FROM set_aside), (SELECT COUNT(*) FROM written)
                """
            )
            again = cur.fetchone()[0]
        if not again:
            return rounds
        rounds += 1
        cur.execute(f"UPDATE {_EIW} SET less = less + 1 WHERE id IN (SELECT id FROM {_EARLY_NEXT})")
        cur.execute(f"DELETE FROM {_EARLY}")
        cur.execute(f"INSERT INTO {_EARLY} (id) SELECT id FROM {_EARLY_NEXT}")
        cur.execute(f"DELETE FROM {_EARLY_NEXT}")
        which = f"WHERE w.id IN (SELECT id FROM {_EARLY})"


def _write_by_id(cur) -> int:
    """SQLite (no data-modifying CTE, no arrays): the rows into ``_ROWS``, the cent-lower rule over them, then one
    update by the installments' ids (``_EI``). Returns the rounds of that rule."""
    _create(cur, [(_ROWS, "id BIGINT NOT NULL, idx INTEGER NOT NULL, bal BIGINT NOT NULL, prin BIGINT NOT NULL, "
                          "intr BIGINT NOT NULL, n INTEGER NOT NULL, pay BIGINT NOT NULL, PRIMARY KEY (id, idx)")])

    def rows(which: str = "") -> None:
        cur.execute(f"INSERT INTO {_ROWS} (id, idx, bal, prin, intr, n, pay) WITH RECURSIVE {_amortisation(which)} "
                    f"SELECT id, idx, bal, prin, intr, n, pay FROM am")

    rows()
    rounds = 0
    while rounds <= _MAX_ROUNDS:
        cur.execute(f"DELETE FROM {_EARLY}")
        cur.execute(f"""INSERT INTO {_EARLY} (id)
                        SELECT DISTINCT am.id FROM {_ROWS} AS am WHERE {_EARLY_ROW}""")
        if cur.rowcount == 0:
            break
        rounds += 1
        cur.execute(f"DELETE FROM {_ROWS} WHERE id IN (SELECT id FROM {_EARLY})")
        cur.execute(f"UPDATE {_EIW} SET less = less + 1 WHERE id IN (SELECT id FROM {_EARLY})")
        rows(f"WHERE w.id IN (SELECT id FROM {_EARLY})")
    cur.execute(
        f"""
        UPDATE {INSTALLMENT}
           SET principal = {_money('r.prin')}, interest = {_money('r.intr')}, repriced_on = w.r
          FROM {_ROWS} AS r JOIN {_EI} AS e ON e.id = r.id AND e.idx = r.idx JOIN {_EIW} AS w ON w.id = r.id
         WHERE {INSTALLMENT}.id = e.tid
        """
    )
    return rounds


def _timed(name: str, started: float) -> float:
    now = time.perf_counter()
    LAST_TIMINGS[name] = LAST_TIMINGS.get(name, 0.0) + now - started
    return now


def _lock_due_loans(cur, params: dict) -> None:
    """Lock the due loans as a payment locks its loan (``postloan.services._apply_repayment``), in a statement of its
    own: a payment in flight on one of them commits first and the repricing statement, whose snapshot is taken after
    this one, sees it (the installment it touched keeps its figures); a payment that comes later waits for the chunk
    and allocates on the repriced figures. Without it, the repricing's update waited for the payment's installment and
    then wrote the repriced figures over the paid one. ``NO KEY``: it conflicts with the payment's ``FOR UPDATE`` but
    not with a row inserted meanwhile that refers to the loan. SQLite runs one writer at a time anyway."""
    if not _pg():
        return
    t = time.perf_counter()
    cur.execute(f"""SELECT COUNT(*) FROM (SELECT 1 FROM {LOAN} AS l JOIN {CLOCK} AS c ON c.loan_id = l.id
                                           WHERE c.next_repricing_on <= {_d('d')} AND c.loan_id >= %(lo)s
                                             AND c.loan_id < %(hi)s AND l.id >= %(lo)s AND l.id < %(hi)s
                                           ORDER BY l.id FOR NO KEY UPDATE OF l) AS locked""", params)
    _timed("due loans locked", t)


# A chunk with more due loans than this is repriced in parts of this many ids, each part locked, read and written by
# its own statements in the chunk's transaction, so that the pages a statement reads are still in shared buffers when
# it writes them: 20,000 loans' installments are ≈ 5,000 pages (40 MB), a part of PostgreSQL's default 128 MB for each
# of the two workers. A whole 100k chunk's 26,000 pages were read, evicted (dirty, some written twice) and read again
# before the writes: the 1 January night on two processes took 53–55 s in one statement a chunk, 48–50 s in parts.
_PART = 20_000


def reprice_chunk(cur, *, as_of: date, lo: int, hi: int) -> int:
    """Reprice the loans of ids [lo, hi) whose repricing date is on or before ``as_of`` (inside the chunk's
    transaction, ``postloan.batch.process_chunk``); returns how many loans were due."""
    params = {"d": as_of, "lo": lo, "hi": hi, "morning": params_for(as_of, as_of - timedelta(days=1))["morning"]}
    started = time.perf_counter()
    # The due loans, counted up to one more than a part (an index probe; none on the usual night).
    cur.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM {CLOCK} WHERE next_repricing_on <= {_d('d')} "
                f"AND loan_id >= %(lo)s AND loan_id < %(hi)s LIMIT {_PART + 1}) AS due", params)
    found = cur.fetchone()[0]
    if not found:  # the usual chunk: nothing reprices
        _timed("probe", started)
        return 0
    due, step = 0, _PART if found > _PART else hi - lo  # an anniversary night's few: one part, the whole chunk
    for start in range(lo, hi, step):
        part = {**params, "lo": start, "hi": min(start + step, hi)}
        _lock_due_loans(cur, part)
        _tables(cur)
        loans, set_aside = _reprice(cur, part)
        if set_aside:
            _amortise_equal_installment(cur)
        due += loans
    return due
