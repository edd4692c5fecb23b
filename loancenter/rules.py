"""Pure guards of the kernel: staff and posts, maker ≠ checker, dates of past events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _
from django_fsm import can_proceed

from loancenter.lib.dates import EARLIEST_EVENT_DATE, today
from loancenter.lib.errors import Forbidden, InvalidState, RuleViolation, SeparationOfDuty
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


@dataclass(frozen=True)
class HeldBy:
    """A django-fsm ``permission``: the posts whose holders may perform a transition (``Transition.has_perm``)."""

    posts: tuple[str, ...]

    def __call__(self, instance, user) -> bool:
        return user.has_any_post(*self.posts)


def held_by(*posts: str) -> HeldBy:
    return HeldBy(tuple(posts))


def check_transition(bound_transition, message: str) -> None:
    """Refuse (409 ``invalid_state``, ``message``) unless the object's state allows the transition its model declares
    (django-fsm's ``can_proceed``): the approval flows ask this before they move a request."""
    if not can_proceed(bound_transition):
        raise InvalidState(message)


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


@dataclass(frozen=True)
class StaffPowers:
    """What rule 30 guards about one person: their posts, their approval limit and whether the account works."""

    posts: frozenset[str]
    approval_limit: Decimal | None
    is_active: bool

    @classmethod
    def of(cls, user) -> StaffPowers:
        return cls(frozenset(user.posts), user.approval_limit, user.is_active)


@dataclass(frozen=True)
class StaffChangePlan:
    """A change of powers split into what may take effect at once and what needs a second person (rule 30)."""

    remove_posts: frozenset[str] = frozenset()
    lower_limit: Decimal | None = None  # a number below the current number
    deactivate: bool = False
    add_posts: frozenset[str] = frozenset()
    new_limit: Decimal | None = None  # any other change of the limit (None: unchanged)
    clear_limit: bool = False  # the limit emptied: unlimited for a branch approver, so it is a grant
    activate: bool = False

    @property
    def lowers(self) -> bool:
        return bool(self.remove_posts or self.lower_limit is not None or self.deactivate)

    @property
    def grants(self) -> bool:
        return bool(self.add_posts or self.new_limit is not None or self.clear_limit or self.activate)


UNCHANGED = object()


def plan_staff_change(current: StaffPowers, *, posts=None, approval_limit=UNCHANGED, is_active=None) -> StaffChangePlan:
    """Split a wanted change of ``current`` into lowering and granting (rule 30; docs/decisions.md).

    Lowering takes effect at once: a post removed, a limit lowered from one amount to a smaller one, an account
    deactivated. Everything else is a grant that waits for another manager: a post added, a limit raised, set
    where there was none or emptied (an empty limit is no authority for an approver but no ceiling for a branch
    approver, so it is never treated as lowering), an account re-activated.
    """
    remove = add = frozenset()
    if posts is not None:
        posts = frozenset(posts)
        remove, add = current.posts - posts, posts - current.posts
    lower = new = None
    clear = False
    if approval_limit is not UNCHANGED and approval_limit != current.approval_limit:
        if approval_limit is None:
            clear = True
        elif current.approval_limit is not None and approval_limit < current.approval_limit:
            lower = approval_limit
        else:
            new = approval_limit
    deactivate = is_active is False and current.is_active
    activate = is_active is True and not current.is_active
    return StaffChangePlan(remove_posts=remove, lower_limit=lower, deactivate=deactivate, add_posts=add,
                           new_limit=new, clear_limit=clear, activate=activate)
