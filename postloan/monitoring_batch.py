"""The nightly batch's monitoring steps (issue 18): signals from behaviour, the checks that fall due, the reminders.

Set-based like the rest of the batch (``postloan.batch``): one statement per step over what changed between the
previous finished run P and tonight's date D, each reading an index range, never a Python loop per loan. Run once per
date when the run finishes (``batch.finish_run``), in its transaction, so a date already finished does nothing.

Windows (all calendar days, SPEC §16.17): something that happens "the day after X" is seen by the run for D when
X lies in (P − 1, D − 1]; with P = D − 1 that is X = D − 1, and a catch-up run over missed nights sees each of them.
- ``first_missed_installment``: the loan's oldest unpaid due date fell in the window (days past due reached 1,
  as of due date + 1, SPEC §16.19);
- ``dpd_30``: days past due reached 31 (oldest unpaid due in (P − 31, D − 31]);
- ``partial_payments``: an installment fell due in the window on a loan that was already overdue and received a
  payment in each of the last three installment periods (it pays, never enough);
- ``broken_promise``: a promise to pay dated in the window, with less paid between the contact and that date than
  promised;
- ``fund_use_overdue``: an open fund-use check whose due date fell in the window; a self payment whose proofs, due
  in the window, cover less than the amount paid out.
Each is raised only where no open signal of the same code exists (and a unique index says so too), so the same fact
the next night raises nothing. The signals' own checks follow, and red ones queue their loan for grading.
Routine checks: loans whose next routine check falls due within the lead days; the clock moves on.
Reminders: pre-due notices for loans whose next due date is N days after tonight's morning, overdue notices (SMS and
a letter, rendered only when opened) for the loans that fell overdue tonight.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)

# Notices go out from 08:00, never between 22:00 and 08:00 (SPEC §12).
SEND_FROM, SEND_UNTIL = dtime(8, 0), dtime(22, 0)

# The last run's seconds per step (the bench prints each step's share).
LAST_TIMINGS: dict[str, float] = {}


def _d(name: str) -> str:
    return f"CAST(%({name})s AS DATE)" if connection.vendor == "postgresql" else f"%({name})s"


def _plus_days(date_sql: str, days_sql: str) -> str:
    if connection.vendor == "postgresql":
        return f"({date_sql} + {days_sql})"
    return f"date({date_sql}, '+' || ({days_sql}) || ' days')"


def _plus_months(date_sql: str, months_sql: str) -> str:
    """``date + months`` clamped to the month's last day (as loancenter.lib.dates.add_months)."""
    if connection.vendor == "postgresql":
        return f"CAST({date_sql} + make_interval(months => {months_sql}) AS DATE)"
    day = f"(CAST(strftime('%%d', {date_sql}) AS INTEGER) - 1)"
    return (f"MIN(date({date_sql}, 'start of month', '+' || ({months_sql}) || ' months', '+' || {day} || ' days'), "
            f"date({date_sql}, 'start of month', '+' || ({months_sql} + 1) || ' months', '-1 day'))")


def params_for(as_of: date, previous: date | None) -> dict:
    prev = previous or as_of - timedelta(days=1)
    lead = settings.REMINDER_DAYS_BEFORE
    local = ZoneInfo(settings.TIME_ZONE)
    morning = datetime.combine(as_of + timedelta(days=1), SEND_FROM, tzinfo=local)
    # SQLite keeps date-times as UTC text: a due date's midnight plus these seconds is that day's 08:00 local.
    offset = morning.utcoffset() or timedelta(0)
    send_seconds = SEND_FROM.hour * 3600 + SEND_FROM.minute * 60 - int(offset.total_seconds())
    return {
        "d": as_of, "epoch": date(1900, 1, 1), "after_1": prev - timedelta(days=1), "upto_1": as_of - timedelta(days=1),
        "after_31": prev - timedelta(days=31), "upto_31": as_of - timedelta(days=31),
        # The checks that fall due within the lead days: a window of one night (of the nights a catch-up covers), so
        # the planner reads the clocks by index whatever its statistics; the very first run takes every clock due.
        "routine_from": prev + timedelta(days=_routine_lead()) if previous else date(1900, 1, 1),
        "routine_until": as_of + timedelta(days=_routine_lead()),
        # Pre-due: the notices of tomorrow morning (and of the mornings a catch-up missed) for due dates N days on.
        "pre_after": prev + timedelta(days=1 + lead), "pre_upto": as_of + timedelta(days=1 + lead),
        "lead": lead,
        # SQLite keeps date-times as naive UTC text; PostgreSQL takes the aware value.
        "morning": morning if connection.vendor == "postgresql"
        else morning.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" "), "send_from": SEND_FROM.isoformat(), "tz": settings.TIME_ZONE,
        "send_from_offset": f"{send_seconds:+d} seconds",
    }


def _routine_lead() -> int:
    from postloan.checks import ROUTINE_LEAD_DAYS

    return ROUTINE_LEAD_DAYS


def _signal_insert(cur, params: dict, code: str, loan_ids_sql: str) -> int:
    """Raise ``code`` on the active loans ``loan_ids_sql`` selects, where none is open; returns how many.

    "Where none is open" is the unique index of open signals (``signal_open_once``), probed once per row by ``ON
    CONFLICT DO NOTHING``. A ``NOT EXISTS`` over the open signals let the planner, with the signal table's statistics
    from before tonight's inserts, join every candidate against every open signal of the code (22 million comparisons
    for 3,334 loans at 1,000,000 loans: 21 s of a 28 s night)."""
    general = "(t.owner_post = 'general' OR l.collection_tier IN ('T2', 'T3'))"
    cur.execute(
        f"""
        INSERT INTO postloan_signal (loan_id, code, level, source, raised_on, owner_post, owner_id, deadline, note,
                                     status, close_reason)
        SELECT l.id, t.code, t.level, 'batch', {_d('d')},
               CASE WHEN {general} THEN 'general' ELSE 'marketing' END,
               CASE WHEN {general} THEN NULL ELSE l.marketing_officer_id END,
               {_plus_days(_d('d'), 't.deadline_days')}, '', 'open', ''
          FROM applications_loan AS l JOIN postloan_signaltype AS t ON t.code = %(code)s
         WHERE l.status = 'active' AND l.id IN ({loan_ids_sql})
        ON CONFLICT DO NOTHING
        """,
        {**params, "code": code},
    )
    return cur.rowcount


def signals_first_missed(cur, params: dict) -> int:
    return _signal_insert(cur, params, "first_missed_installment",
                          f"SELECT c.id FROM applications_loan AS c WHERE c.status = 'active' "
                          f"AND c.oldest_unpaid_due > {_d('after_1')} AND c.oldest_unpaid_due <= {_d('upto_1')}")


def signals_dpd_30(cur, params: dict) -> int:
    return _signal_insert(cur, params, "dpd_30",
                          f"SELECT c.id FROM applications_loan AS c WHERE c.status = 'active' "
                          f"AND c.oldest_unpaid_due > {_d('after_31')} AND c.oldest_unpaid_due <= {_d('upto_31')}")


def signals_partial_payments(cur, params: dict) -> int:
    """An installment fell due tonight on a loan that is overdue and received a payment in each of the last three
    installment periods (it pays, but not enough). Driven by the overdue loans (index loan_unpaid_due), their
    installment due tonight (index installment_unpaid: loan, paid_off_on IS NULL, due date), then the payments of the
    three periods."""
    def due(n: int) -> str:
        return (f"(SELECT b.due_date FROM postloan_installment AS b WHERE b.loan_id = i.loan_id "
                f"AND b.number = i.number - {n})")

    def paid_between(later: str, earlier: str) -> str:
        return (f"EXISTS (SELECT 1 FROM postloan_repayment AS r WHERE r.loan_id = i.loan_id AND r.paid_on <= {later} "
                f"AND r.paid_on > {earlier})")

    return _signal_insert(
        cur, params, "partial_payments",
        f"""SELECT i.loan_id
              FROM applications_loan AS o
                   JOIN postloan_installment AS i ON i.loan_id = o.id AND i.paid_off_on IS NULL
                        AND i.due_date > {_d('after_1')} AND i.due_date <= {_d('upto_1')}
             WHERE o.status = 'active' AND o.oldest_unpaid_due < {_d('upto_1')} AND i.number >= 3
               AND {paid_between('i.due_date', due(1))} AND {paid_between(due(1), due(2))}
               AND {paid_between(due(2), f"COALESCE({due(3)}, {_d('epoch')})")}""")


def signals_broken_promise(cur, params: dict) -> int:
    paid = ("(SELECT COALESCE(SUM(r.amount), 0) FROM postloan_repayment AS r WHERE r.loan_id = a.loan_id "
            "AND r.paid_on >= a.contact_day AND r.paid_on <= a.promise_date)")
    return _signal_insert(cur, params, "broken_promise",
                          f"SELECT a.loan_id FROM postloan_collectionaction AS a WHERE a.promise_date IS NOT NULL "
                          f"AND a.promise_date > {_d('after_1')} AND a.promise_date <= {_d('upto_1')} "
                          f"AND {paid} < COALESCE(a.promise_amount, 0.01)")


def signals_fund_use(cur, params: dict) -> int:
    proven = "(SELECT COALESCE(SUM(p.amount), 0) FROM postloan_funduseproof AS p WHERE p.loan_id = f.loan_id)"
    return _signal_insert(
        cur, params, "fund_use_overdue",
        f"SELECT k.loan_id FROM postloan_postloancheck AS k WHERE k.status = 'open' AND k.kind = 'fund_use' "
        f"AND k.due_on > {_d('after_1')} AND k.due_on <= {_d('upto_1')} "
        f"UNION SELECT f.loan_id FROM postloan_funduse AS f WHERE f.proof_due_on > {_d('after_1')} "
        f"AND f.proof_due_on <= {_d('upto_1')} AND {proven} < f.amount")


def signal_checks(cur, params: dict) -> int:
    """Each signal the batch raised tonight gets its check (due by the signal's deadline); red ones queue their loan
    for the next grading (at least 关注)."""
    cur.execute(
        f"""
        INSERT INTO postloan_postloancheck (loan_id, kind, due_on, created_on, owner_post, owner_id, status, conclusion,
                                            findings, borrower_situation, needs_signoff, signal_id)
        SELECT s.loan_id, 'signal', s.deadline, {_d('d')}, s.owner_post, s.owner_id, 'open', '', '', '',
               p.category = 'business', s.id
          FROM postloan_signal AS s JOIN applications_loan AS l ON l.id = s.loan_id
               JOIN applications_product AS p ON p.id = l.product_id
         WHERE s.raised_on = {_d('d')} AND s.source = 'batch'
        ON CONFLICT DO NOTHING
        """,
        params,
    )
    created = cur.rowcount
    cur.execute(
        f"""INSERT INTO applications_pendingregrade (loan_id)
            SELECT s.loan_id FROM postloan_signal AS s
             WHERE s.raised_on = {_d('d')} AND s.source = 'batch' AND s.level = 'red' AND s.status = 'open'
            ON CONFLICT DO NOTHING""",
        params,
    )
    return created


def routine_checks(cur, params: dict) -> int:
    """The routine checks that fall due within the lead days, then each clock moves to the next one."""
    general = "l.collection_tier IN ('T2', 'T3')"
    cur.execute(
        f"""
        INSERT INTO postloan_postloancheck (loan_id, kind, due_on, created_on, owner_post, owner_id, status, conclusion,
                                            findings, borrower_situation, needs_signoff)
        SELECT m.loan_id, 'routine', m.next_routine_on, {_d('d')},
               CASE WHEN {general} THEN 'general' ELSE 'marketing' END,
               CASE WHEN {general} THEN NULL ELSE l.marketing_officer_id END, 'open', '', '', '', p.category = 'business'
          FROM postloan_loanmonitoring AS m JOIN applications_loan AS l ON l.id = m.loan_id
               JOIN applications_product AS p ON p.id = l.product_id
         WHERE m.next_routine_on > {_d('routine_from')} AND m.next_routine_on <= {_d('routine_until')}
           AND l.status = 'active'
        ON CONFLICT DO NOTHING
        """,
        params,
    )
    created = cur.rowcount
    cur.execute(f"""DELETE FROM postloan_loanmonitoring
                     WHERE next_routine_on > {_d('routine_from')} AND next_routine_on <= {_d('routine_until')}
                       AND NOT EXISTS (SELECT 1 FROM applications_loan AS l
                                        WHERE l.id = postloan_loanmonitoring.loan_id AND l.status = 'active')""",
                params)  # settled or written off: no more routine checks
    cur.execute(
        f"""UPDATE postloan_loanmonitoring
               SET seq = seq + 1, next_routine_on = {_plus_months('anchor', '(seq + 1) * months')}
             WHERE next_routine_on > {_d('routine_from')} AND next_routine_on <= {_d('routine_until')}""",
        params,
    )
    if connection.vendor == "postgresql" and cur.rowcount > 10_000:  # a first night or a catch-up moved many clocks
        cur.execute("ANALYZE postloan_loanmonitoring")
    return created


def _notice_insert(cur, params: dict, kind: str, channel: str, where: str, scheduled: str) -> int:
    """Queue a notice for the active loans ``where`` selects (an index range of the loans only: the amount and the
    recipient are read when the notice is sent)."""
    cur.execute(
        f"""
        INSERT INTO postloan_notice (loan_id, kind, channel, due_date, recipient, scheduled_for, status, attempts,
                                     answer, created_on)
        SELECT l.id, '{kind}', '{channel}', l.oldest_unpaid_due, '', {scheduled}, 'queued', 0, '', {_d('d')}
          FROM applications_loan AS l
         WHERE l.status = 'active' AND {where}
        ON CONFLICT DO NOTHING
        """,
        params,
    )
    return cur.rowcount


def _ts(name: str) -> str:
    return f"CAST(%({name})s AS TIMESTAMPTZ)" if connection.vendor == "postgresql" else f"%({name})s"


def notices_pre_due(cur, params: dict) -> int:
    """SMS N days before the next due date of a loan that is current (an overdue one is in collection), sent on the
    morning N days before it."""
    if connection.vendor == "postgresql":
        scheduled = ("((CAST(l.oldest_unpaid_due AS TIMESTAMP) - make_interval(days => %(lead)s) "
                     "+ CAST(%(send_from)s AS TIME)) AT TIME ZONE %(tz)s)")
    else:  # SQLite keeps date-times as text in UTC
        scheduled = "datetime(l.oldest_unpaid_due, '-' || %(lead)s || ' days', %(send_from_offset)s)"
    return _notice_insert(cur, params, "pre_due", "sms",
                          f"l.oldest_unpaid_due > {_d('pre_after')} AND l.oldest_unpaid_due <= {_d('pre_upto')}",
                          scheduled)


def notices_overdue(cur, params: dict) -> int:
    """On the first overdue day: an SMS and a letter (the letter is rendered when it is opened or printed)."""
    where = f"l.oldest_unpaid_due > {_d('after_1')} AND l.oldest_unpaid_due <= {_d('upto_1')}"
    return (_notice_insert(cur, params, "overdue", "sms", where, _ts("morning"))
            + _notice_insert(cur, params, "overdue", "letter", where, _ts("morning")))


STEPS = [signals_first_missed, signals_dpd_30, signals_partial_payments, signals_broken_promise, signals_fund_use,
         signal_checks, routine_checks, notices_pre_due, notices_overdue]


def run(as_of: date, previous: date | None) -> dict[str, int]:
    """Every monitoring step for ``as_of`` (inside the caller's transaction); returns the rows each step wrote."""
    params = params_for(as_of, previous)
    written: dict[str, int] = {}
    LAST_TIMINGS.clear()
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # Each step reads a few rows by index (as the grading does): not the whole table the default cost suggests.
            cur.execute("SET LOCAL random_page_cost = 1.1")
        for step in STEPS:
            started = time.perf_counter()
            written[step.__name__] = step(cur, params)
            LAST_TIMINGS[step.__name__] = time.perf_counter() - started
    log.debug("monitoring %s: %s", as_of, written)
    return written

