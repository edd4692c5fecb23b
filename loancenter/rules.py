"""Pure guards about staff and posts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from loancenter.lib.errors import Forbidden, RuleViolation, SeparationOfDuty
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


def _person_id(person) -> int | None:
    return getattr(person, "pk", person)


def check_maker_checker(maker, checker, *, what: str) -> None:
    """Maker ≠ checker (SPEC §4, rule 30): whoever made something — filed a request, or is the person it is
    about — never checks it. ``maker`` and ``checker`` are users or user ids; ``what`` completes the sentence
    "The same person may not …".
    """
    maker_id, checker_id = _person_id(maker), _person_id(checker)
    if maker_id is not None and maker_id == checker_id:
        raise SeparationOfDuty(_("The same person may not %(what)s (separation of duty).") % {"what": what})


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
