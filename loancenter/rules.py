"""Pure guards of the kernel: staff and posts, maker ≠ checker, dates of past events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from loancenter.lib.dates import EARLIEST_EVENT_DATE, today
from loancenter.lib.errors import Forbidden, RuleViolation, SeparationOfDuty
from loancenter.lib.money import CENT, MAX_AMOUNT
from loancenter.posts import ALL_POSTS, MORTGAGE_CLERK, MORTGAGE_CLERK_EXCLUDES, POST_LABELS


def check_post_combination(posts: Iterable[str]) -> None:
    """SPEC §1: a mortgage clerk may never also be reviewer, approver or disbursement officer."""
    posts = set(posts)
    unknown = posts - set(ALL_POSTS)
    if unknown:
        raise RuleViolation("unknown_post", _("Unknown post(s): %(posts)s") % {"posts": ", ".join(sorted(unknown))})
    if MORTGAGE_CLERK in posts:
        clash = sorted(posts & MORTGAGE_CLERK_EXCLUDES)
        if clash:
            raise RuleViolation(
                "post_conflict",
                _("The mortgage clerk post may not be held together with: %(posts)s.")
                % {"posts": ", ".join(str(POST_LABELS[p]) for p in clash)},
            )


def require_post(user, *posts: str) -> None:
    """Refuse (403 ``post_required``) unless ``user`` holds one of ``posts``."""
    if not user.has_any_post(*posts):
        raise Forbidden(
            "post_required",
            _("This action needs the post: %(posts)s.") % {"posts": " / ".join(str(POST_LABELS[p]) for p in posts)},
        )


def check_maker_checker(maker, checker, *, what: str) -> None:
    """SPEC §4 (and rule 21, §7, rule 30): whoever files a request — a servicing request, a grade change, a write-off,
    a lending-out, a destruction, a staff change — never approves that same request (403 ``separation_of_duty``).

    ``maker``/``checker``: users or user ids; ``what``: what the maker did, e.g. _("proposed this write-off").
    """
    maker_id = getattr(maker, "pk", maker)
    checker_id = getattr(checker, "pk", checker)
    if maker_id is not None and maker_id == checker_id:
        raise SeparationOfDuty(_("You %(what)s; someone else must decide it (separation of duty).") % {"what": what})


def check_past_date(value: date, *, field: str, code: str = "date", not_before: date | None = None,
                    not_before_what: str = "") -> None:
    """SPEC §10, §16.1: the date of something that happened (a payment, an interview, a receipt, a signing, a field
    visit…) lies between 2000-01-01 and today, the center's local date; ``not_before``: nor before that day (a
    payment is not dated before its loan's disbursement, ``not_before_what`` names it)."""
    if value > today():
        raise RuleViolation(code, _("%(date)s is in the future; this date is when it happened, at the latest today "
                                    "(%(today)s).") % {"date": value.isoformat(), "today": today().isoformat()},
                            field=field)
    if value < EARLIEST_EVENT_DATE:
        raise RuleViolation(code, _("%(date)s is before %(earliest)s; no date this early is accepted.")
                            % {"date": value.isoformat(), "earliest": EARLIEST_EVENT_DATE.isoformat()}, field=field)
    if not_before is not None and value < not_before:
        raise RuleViolation(code, _("%(date)s is before %(what)s (%(day)s).")
                            % {"date": value.isoformat(), "what": not_before_what, "day": not_before.isoformat()},
                            field=field)


def check_amount(amount: Decimal | None, *, field: str = "amount", code: str = "amount") -> None:
    """An amount of money that comes in (a payment, a recovery): positive, in cents, at most 10^12 (SPEC §5, §10)."""
    amount = Decimal(amount) if amount is not None else None
    if amount is not None and amount.is_finite() and amount > MAX_AMOUNT:
        raise RuleViolation(code, _("The amount must not exceed %(max)s.") % {"max": f"{MAX_AMOUNT:,.2f}"}, field=field)
    if amount is None or not amount.is_finite() or amount <= 0 or amount != amount.quantize(CENT):
        raise RuleViolation(code, _("The amount must be positive with at most two decimals."), field=field)
