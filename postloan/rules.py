"""Pure guards after disbursement: compliant collection (SPEC §3, 合规催收), servicing rules 18–21, manual grades (§6).

Each guard raises a ``DomainError`` subclass whose message names the rule and the figures that broke it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from loancenter import posts as P
from loancenter.lib.errors import Forbidden, RuleViolation
from postloan.batch import grade_for_days
from postloan.models import GRADE_LABELS, GRADES

# ---------------------------------------------------------------------------------------------------------------
# Collections

QUIET_START, QUIET_END = time(22, 0), time(8, 0)  # no contact from 22:00 to 08:00, local time
MAX_UNANSWERED_CALLS_PER_DAY = 6


def check_contact_hours(contacted_at: datetime) -> None:
    """No contact between 22:00 and 08:00 local time (08:00 itself is allowed, 22:00 is not)."""
    local = timezone.localtime(contacted_at).time()
    if local >= QUIET_START or local < QUIET_END:
        raise RuleViolation(
            "contact_hours",
            _("No collection contact between 22:00 and 08:00 (this one was at %(time)s local time).")
            % {"time": local.strftime("%H:%M")},
            field="contacted_at",
        )


def default_contact_time(now: datetime) -> datetime:
    """The contact time a new log entry proposes (issue 15, part 9): now, to the minute, unless that falls in the
    quiet hours; then the last permitted minute before it (21:59 local time). Checked with ``check_contact_hours``,
    the rule that refuses the window, so the proposal is never one the rule refuses."""
    local = timezone.localtime(now).replace(second=0, microsecond=0)
    try:
        check_contact_hours(local)
    except RuleViolation:
        evening = local if local.time() >= QUIET_START else local - timedelta(days=1)
        local = evening.replace(hour=QUIET_START.hour, minute=0) - timedelta(minutes=1)
        check_contact_hours(local)
    return local


def check_not_in_future(contacted_at: datetime) -> None:
    if contacted_at > timezone.now():
        raise RuleViolation("contact_in_future", _("A collection action is logged after it happened, not before."),
                            field="contacted_at")


def check_unanswered_calls(*, phone: str, unanswered_today: int) -> None:
    """At most 6 unanswered calls a day to one number: once 6 went unanswered, no further call that day."""
    if unanswered_today >= MAX_UNANSWERED_CALLS_PER_DAY:
        raise RuleViolation(
            "too_many_calls",
            _("%(phone)s already had %(n)s unanswered calls today; at most %(max)s unanswered calls a day to one number.")
            % {"phone": phone, "n": unanswered_today, "max": MAX_UNANSWERED_CALLS_PER_DAY},
            field="phone",
        )


def check_contact_target(*, loan, channel: str, target: str, phone: str, guarantor, agency, guarantors) -> None:
    """Never an unrelated third party: the borrower or one of the loan's guarantors on their own number, or an agency
    from the whitelist (SPEC §3)."""
    third_party = _("Collectors may never contact unrelated third parties (only the borrower, the loan's guarantors "
                    "or a whitelisted agency).")
    if (channel == "agency") != (target == "agency"):
        raise RuleViolation("agency_channel", _("An outsourced agency is used through the agency channel, and only there."),
                            field="channel")
    if target == "agency":
        if agency is None:
            raise RuleViolation("agency_required", _("Choose the agency from the whitelist."), field="agency")
        if not agency.active:
            raise RuleViolation(
                "agency_not_whitelisted",
                _("%(agency)s is not on the whitelist of collection agencies; outsourced collection only through "
                  "whitelisted agencies.") % {"agency": agency.name},
                field="agency",
            )
        return
    if target == "borrower":
        person = loan.customer
    elif target == "guarantor":
        if guarantor is None or guarantor.pk not in {g.pk for g in guarantors}:
            raise RuleViolation("third_party", _("This person is not a guarantor of the loan. %(rule)s") % {"rule": third_party},
                                field="guarantor")
        person = guarantor.customer
    else:
        raise RuleViolation("third_party", third_party, field="target")
    if channel in ("phone", "sms"):
        if not phone:
            raise RuleViolation("phone_required", _("Give the number called or texted."), field="phone")
        if phone.strip() != person.phone:
            raise RuleViolation(
                "third_party",
                _("%(phone)s is not the number on record for %(name)s. %(rule)s")
                % {"phone": phone, "name": person.name, "rule": third_party},
                field="phone",
            )


def check_promise(*, promise_date: date | None, promise_amount: Decimal | None, contact_day: date) -> None:
    if (promise_date is None) != (promise_amount is None):
        raise RuleViolation("promise", _("A promise to pay has both a date and an amount."), field="promise_date")
    if promise_date is not None and promise_date < contact_day:
        raise RuleViolation("promise", _("The promised payment date cannot be before the contact."), field="promise_date")


def check_case_collector(case, user) -> None:
    """Who logs on a case: T1 — the loan's marketing officer; T2/T3 — the general post."""
    if case.closed_on is not None:
        raise RuleViolation("case_closed", _("This collection case was closed on %(d)s.") % {"d": case.closed_on.isoformat()})
    if case.owner_post == P.MARKETING:
        if case.loan.marketing_officer_id != user.pk:
            raise Forbidden("not_case_owner", _("A T1 case (1–30 days overdue) is worked by the loan's own marketing officer."))
    elif not user.has_post(P.GENERAL):
        raise Forbidden("not_case_owner", _("T2 and T3 cases (over 30 days overdue) are worked by the general post."))


# ---------------------------------------------------------------------------------------------------------------
# Servicing requests (rules 18–20); maker ≠ checker is the kernel's loancenter.rules.check_maker_checker


def extension_limit(original_term: int) -> int:
    """Rule 19: cumulative extension ≤ the original term up to 12 months, ≤ half of it up to 60 months, ≤ 3 years beyond."""
    if original_term <= 12:
        return original_term
    if original_term <= 60:
        return original_term // 2
    return 36


def check_extension(*, original_term: int, already_extended: int, months: int, has_guarantors: bool, consent: bool) -> None:
    limit = extension_limit(original_term)
    if already_extended + months > limit:
        raise RuleViolation(
            "extension_limit",
            _("A loan of %(term)s months may be extended by at most %(limit)s months in total; %(done)s already "
              "granted, %(asked)s asked (rule 19).")
            % {"term": original_term, "limit": limit, "done": already_extended, "asked": months},
            field="extension_months",
        )
    if has_guarantors and not consent:
        raise RuleViolation("guarantor_consent",
                            _("The guarantors' written consent to the extension must be recorded (rule 19)."),
                            field="guarantor_consent")


# ---------------------------------------------------------------------------------------------------------------
# Manual grade changes (SPEC §6)


def rank(grade: str) -> int:
    return GRADES.index(grade) if grade in GRADES else 0


def worse(a: str, b: str) -> str:
    return a if rank(a) >= rank(b) else b


def label(grade: str) -> str:
    return str(GRADE_LABELS.get(grade, grade))


def check_downgrade(*, current: str, target: str, reasons: str) -> None:
    if rank(target) <= rank(current):
        raise RuleViolation("not_worse", _("%(target)s is not worse than the current grade %(current)s.")
                            % {"target": label(target), "current": label(current)}, field="to_grade")
    if not reasons.strip():
        raise RuleViolation("reasons_required", _("A change to a worse grade states its reasons (SPEC §6)."), field="reasons")


def grade_floor(loan, on: date) -> str:
    """The grade a loan cannot be better than: its days-past-due floor and the restructuring observation period."""
    floor = grade_for_days(loan.days_past_due)
    if loan.restructured_on is not None and loan.observation_until is not None and loan.observation_until >= on:
        floor = worse(floor, "special_mention")
    return floor


def check_upgrade(loan, *, target: str, reasons: str, on: date) -> None:
    """To a better grade: never better than the floor; a loan non-performing because of its arrears history goes back
    to performing only by the upgrade rule (the batch), not by hand — unless its grade came from a manual floor."""
    current = loan.grade or "normal"
    if rank(target) >= rank(current):
        raise RuleViolation("not_better", _("%(target)s is not better than the current grade %(current)s.")
                            % {"target": label(target), "current": label(current)}, field="to_grade")
    if not reasons.strip():
        raise RuleViolation("reasons_required", _("A change of grade states its reasons (SPEC §6)."), field="reasons")
    floor = grade_floor(loan, on)
    if rank(target) < rank(floor):
        raise RuleViolation(
            "below_floor",
            _("With %(dpd)s days past due%(obs)s the loan cannot be better than %(floor)s (SPEC §6).")
            % {"dpd": loan.days_past_due, "floor": label(floor),
               "obs": _(" and in its restructuring observation period") if floor != grade_for_days(loan.days_past_due) else ""},
            field="to_grade",
        )
    if rank(current) >= 2 and rank(target) < 2 and rank(loan.manual_grade) < rank(current):
        raise RuleViolation(
            "upgrade_rule",
            _("A non-performing loan goes back to performing only after its arrears are repaid and 2 periods or "
              "6 months (the longer) are paid on time; the nightly batch applies this (SPEC §6)."),
            field="to_grade",
        )
