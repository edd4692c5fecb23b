"""Staff and posts."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils.translation import gettext as _

from loancenter.lib.errors import RuleViolation
from loancenter.models import AuditEntry, User
from loancenter.posts import ALL_POSTS, INVESTIGATOR
from loancenter.rules import check_post_combination


def ensure_post_groups() -> None:
    # One query when the groups exist (every call after the first); staff_set_posts calls this each time.
    existing = set(Group.objects.filter(name__in=ALL_POSTS).values_list("name", flat=True))
    missing = [code for code in ALL_POSTS if code not in existing]
    if missing:
        Group.objects.bulk_create([Group(name=code) for code in missing], ignore_conflicts=True)


@transaction.atomic
def staff_set_posts(*, user: User, posts: Iterable[str], actor: User | None = None, handover_to: User | None = None) -> User:
    """Give ``user`` exactly ``posts``. An investigator leaving the post hands over open investigations (rule 7)."""
    from applications.services import investigations_hand_over, open_investigations_of

    posts = set(posts)
    check_post_combination(posts)
    old = set(user.posts)
    if INVESTIGATOR in old and INVESTIGATOR not in posts and open_investigations_of(user):
        if handover_to is None:
            raise RuleViolation(
                "handover_required",
                _("%(name)s has open investigations; name the investigator who takes them over (rule 7).")
                % {"name": user.username},
            )
        investigations_hand_over(from_user=user, to_user=handover_to, actor=actor or user, reason=_("change of post"))
    ensure_post_groups()
    user.groups.set(Group.objects.filter(name__in=posts))
    user.forget_posts()
    AuditEntry.objects.create(actor=actor, action="staff_posts", object_type="loancenter.user", object_id=str(user.pk),
                              payload={"old": sorted(old), "new": sorted(posts)})
    return user


@transaction.atomic
def staff_create(*, username: str, posts: Iterable[str], password: str | None = None,
                 approval_limit: Decimal | None = None, id_number: str = "", full_name: str = "",
                 actor: User | None = None) -> User:
    posts = set(posts)
    check_post_combination(posts)
    user = User(username=username, approval_limit=approval_limit, id_number=(id_number or "").strip().upper(),
                first_name=full_name)
    if password:
        validate_password(password, user)  # Django's validators, as on every form that sets one (SPEC §10)
    if User.objects.filter(username=username).exists():
        raise RuleViolation("username_taken", _("Username %(u)s is taken.") % {"u": username})
    user.full_clean(exclude=["password"])
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    staff_set_posts(user=user, posts=posts, actor=actor)
    return user
