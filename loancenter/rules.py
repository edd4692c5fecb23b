"""Pure guards about staff and posts."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from loancenter.lib.errors import Forbidden, RuleViolation
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
