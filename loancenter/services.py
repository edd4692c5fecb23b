"""Staff and posts: the operator's bootstrap (``staff_create``) and four-eyes staff administration (rule 30).

Every surface that changes a person's powers — posts, approval limit, whether the account works — calls
``staff_change`` (the admin's staff form) or ``staff_request_file`` (API); a grant waits as a ``StaffRequest``
until another manager calls ``staff_request_approve``. Lowering takes effect at once. ``staff_set_posts`` is the
writer underneath them and is not called by any surface itself. See docs/decisions.md, "Staff administration".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.apps import apps
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loancenter import posts as P
from loancenter import units, work
from loancenter.audit_trail import audit
from loancenter.lib.errors import Conflict, InvalidState, RuleViolation
from loancenter.lib.identifiers import normalise_id_number
from loancenter.models import StaffRequest, Unit, User
from loancenter.posts import ALL_POSTS
from loancenter.refusals import recorded, recording
from loancenter.rules import (
    UNCHANGED,
    StaffChangePlan,
    StaffPowers,
    check_maker_checker,
    check_post_combination,
    plan_staff_change,
    require_post,
)

# Who files a staff request (SPEC §1: general maintains staff; the manager too) and who decides it (rule 30).
FILER_POSTS = (P.GENERAL, P.MANAGER)
DECIDER_POSTS = (P.MANAGER,)


def _audit(*, actor, action: str, obj, payload: dict, reason: str = "") -> None:
    audit(actor=actor, action=action, obj=obj, payload=payload, reason=reason)


def _limit(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _powers_json(powers: StaffPowers) -> dict:
    return {"posts": sorted(powers.posts), "approval_limit": _limit(powers.approval_limit), "is_active": powers.is_active,
            "unit": powers.unit}


def ensure_post_groups() -> None:
    # One query when the groups exist (every call after the first); staff_set_posts calls this each time.
    existing = set(Group.objects.filter(name__in=ALL_POSTS).values_list("name", flat=True))
    missing = [code for code in ALL_POSTS if code not in existing]
    if missing:
        Group.objects.bulk_create([Group(name=code) for code in missing], ignore_conflicts=True)


@transaction.atomic
def staff_set_posts(*, user: User, posts: Iterable[str], actor: User | None = None,
                    context: dict | None = None) -> User:
    """Give ``user`` exactly ``posts``. A post with open work is not removed until the work is handed over (rule 7,
    SPEC §13: ``loancenter.handovers``).

    The writer underneath the operator's ``staff_create``, lowering in ``staff_change`` and an approved
    ``StaffRequest``; no page, endpoint or admin form calls it directly (rule 30). ``context`` is added to the
    audit row (the request it applies, the surface).
    """
    posts = set(posts)
    check_post_combination(posts)
    user.forget_posts()
    old = set(user.posts)
    if P.MORTGAGE_CLERK in old and P.MORTGAGE_CLERK not in posts:
        units.check_keeps_mortgage_clerk(user, what=_("removing the post"))
    if old - posts:
        work.check_no_open_work(user, posts=old - posts, what=_("the post is removed"))
    ensure_post_groups()
    user.groups.set(Group.objects.filter(name__in=posts))
    user.forget_posts()
    _audit(actor=actor, action="staff_posts", obj=user, payload={"old": sorted(old), "new": sorted(posts), **(context or {})})
    return user


def staff_create(*, username: str, posts: Iterable[str], password: str | None = None,
                 approval_limit: Decimal | None = None, id_number: str = "", full_name: str = "",
                 unit: str | None = None, actor: User | None = None) -> User:
    """The operator's bootstrap (``manage.py create_staff``, like ``createsuperuser``): run on the server by whoever
    runs it, so it grants at once; the audit trail records what it did (actor empty: the operator). ``unit``: the
    unit's code; without it the person belongs to the center (SPEC §16.26).

    The post combination and the password are checked first, without the database (the operator hears of them even
    before ``migrate``); a refusal that needs the database (a taken username, an unknown unit) is recorded."""
    posts = set(posts)
    check_post_combination(posts)
    user = User(username=username, approval_limit=approval_limit, id_number=(id_number or "").strip().upper(),
                first_name=full_name)
    if password:
        validate_password(password, user)  # Django's validators, as on every form that sets one (SPEC §10)
    return _staff_create_saved(user=user, posts=posts, password=password, actor=actor, unit=unit)


@recorded("create_staff")
@transaction.atomic
def _staff_create_saved(*, user: User, posts: set[str], password: str | None, actor: User | None,
                        unit: str | None) -> User:
    user.unit = units.unit_by_code(unit) or Unit.center()
    if User.objects.filter(username=user.username).exists():
        raise RuleViolation("username_taken", _("Username %(u)s is taken.") % {"u": user.username})
    user.full_clean(exclude=["password"])
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    _audit(actor=actor, action="staff_create", obj=user, payload={
        "by": actor.username if actor is not None else "operator", "username": user.username,
        "posts": sorted(posts), "approval_limit": _limit(user.approval_limit), "is_active": user.is_active,
        "usable_password": user.has_usable_password(), "unit": user.unit_id,
    })
    staff_set_posts(user=user, posts=posts, actor=actor)
    return user


@recorded("staff_change")
def staff_open_account(*, actor, user: User, via: str = "admin") -> User:
    """Save a new account built by a form (username, name, password already set) without any power: no post, no
    approval limit. What it should hold is filed with ``staff_request_file`` for another manager (rule 30)."""
    require_post(actor, *FILER_POSTS)
    if user.pk is not None:
        raise RuleViolation("not_new", _("This account exists already."))
    user.approval_limit, user.is_active, user.is_staff, user.is_superuser = None, True, False, False
    user.unit = Unit.center()  # a move elsewhere is filed like any grant (SPEC §13)
    user.id_number = (user.id_number or "").strip().upper()
    user.full_clean(exclude=["password"])
    with transaction.atomic():
        user.save()
        _audit(actor=actor, action="staff_create", obj=user, payload={
            "by": actor.username, "username": user.username, "posts": [], "approval_limit": None,
            "is_active": True, "usable_password": user.has_usable_password(), "via": via,
        })
    return user


# ---------------------------------------------------------------------------------------------------------------
# A staff member's ID number: the fact the staff-loan check of SPEC §4 reads

# A loan in one of these states is closed: its borrower and guarantors no longer need the staff-loan check.
_CLOSED_LOANS = ("settled", "withdrawn", "rejected")


def _live_loan_of_party(id_number: str):
    """A loan not yet closed whose borrower or a guarantor has ``id_number`` (the staff-loan check matches them)."""
    loans = apps.get_model("applications", "Loan")  # applications sits above loancenter: no import of it here
    live = loans.objects.exclude(status__in=_CLOSED_LOANS).order_by("pk")
    # Two indexed lookups rather than one OR across a join, which no index serves (it read the whole book).
    return (live.filter(customer__id_number=id_number).first()
            or live.filter(guarantors__customer__id_number=id_number).first())


@recorded("staff_change")
def staff_set_id_number(*, actor, user: User, id_number: str, via: str = "admin") -> User:
    """Change a staff member's ID number (SPEC §4: staff loans are matched by it), audited old → new.

    Nobody changes their own; and a number that matches the borrower or a guarantor of a loan not yet closed is not
    changed by anyone, since that would lift the staff-loan check on that loan (setting an empty number is allowed).
    """
    new = normalise_id_number(id_number or "")
    with transaction.atomic():
        user = _lock(user)
        old = user.id_number or ""
        if new == old:
            return user
        require_post(actor, *FILER_POSTS)
        check_maker_checker(user, actor, what=_("would change your own ID number (the staff-loan check reads it)"))
        if old:
            loan = _live_loan_of_party(old)
            if loan is not None:
                raise Conflict("staff_party", _(
                    "%(name)s's ID number is that of the borrower or a guarantor of loan %(loan)s, which is not closed; "
                    "changing it would lift the staff-loan check on that loan (SPEC §4).")
                    % {"name": user.username, "loan": loan.application_no or loan.pk})
        user.id_number = new
        user.full_clean(exclude=["password"])
        user.save(update_fields=["id_number"])
        _audit(actor=actor, action="staff_id_number", obj=user, payload={"old": old, "new": new, "via": via})
    return user


def staff_password_changed(*, actor, user: User, via: str = "admin") -> None:
    """A password set for a staff member (by them or by someone else, e.g. in the admin) is in the audit trail: who set
    whose, and whether the account can still log in with a password. Never the password or its hash."""
    _audit(actor=actor, action="staff_password", obj=user, payload={
        "user": user.username, "by": getattr(actor, "username", None) or "operator",
        "usable_password": user.has_usable_password(), "via": via})


# ---------------------------------------------------------------------------------------------------------------
# Rule 30: staff administration is four-eyes


@dataclass(frozen=True)
class StaffChangeResult:
    """What a save of the staff form did: what was lowered at once, and the request filed for the rest."""

    plan: StaffChangePlan
    request: StaffRequest | None = None

    @property
    def changed(self) -> bool:
        return self.plan.lowers or self.plan.grants


def _unit_code(unit) -> str | None:
    """A unit, its code or None (unchanged) as the code of an existing unit."""
    if unit is None:
        return None
    return units.unit_by_code(getattr(unit, "pk", unit)).pk


def _clean_limit(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return User._meta.get_field("approval_limit").clean(value, None)
    except ValidationError as error:
        raise RuleViolation("approval_limit", "; ".join(error.messages), field="approval_limit") from None


def _check_filer(actor, user) -> None:
    require_post(actor, *FILER_POSTS)
    check_maker_checker(user, actor, what=_("would change your own posts, approval limit or account"))


def _check_plan(user: User, plan: StaffChangePlan) -> None:
    """The post combination (SPEC §1) of what the person will hold, and one pending grant at a time."""
    check_post_combination((user.posts - plan.remove_posts) | plan.add_posts)
    if plan.grants and StaffRequest.objects.filter(user=user, state=StaffRequest.State.PENDING).exists():
        raise Conflict("request_pending",
                       _("A staff request for %(name)s is already waiting for a manager; decide it first.")
                       % {"name": user.username})


def _lock(user: User) -> User:
    locked = User.objects.select_for_update().get(pk=user.pk)
    locked.forget_posts()
    return locked


@recorded("staff_change")
def staff_change_check(*, actor, user: User, posts=None, approval_limit=UNCHANGED, is_active=None,
                       unit=None) -> StaffChangePlan:
    """The checks of ``staff_change`` without changing anything (the admin form asks them before it saves)."""
    if approval_limit is not UNCHANGED:
        approval_limit = _clean_limit(approval_limit)
    user = User.objects.get(pk=user.pk)  # the stored powers, not a form's instance
    plan = plan_staff_change(StaffPowers.of(user), posts=posts, approval_limit=approval_limit, is_active=is_active,
                             unit=_unit_code(unit))
    if plan.lowers or plan.grants:
        _check_filer(actor, user)
        _check_plan(user, plan)
        _check_lowering(user, plan)
    return plan


def _check_lowering(user: User, plan: StaffChangePlan) -> None:
    """What keeps an account open or a post held (SPEC §13): open work, a disbursing unit's last mortgage clerk.
    ``staff_set_posts`` asks the post's checks again underneath every path."""
    if plan.deactivate:
        units.check_keeps_mortgage_clerk(user, what=_("closing the account"))
        work.check_no_open_work(user, what=_("the account is closed"))
    if plan.remove_posts:
        if P.MORTGAGE_CLERK in plan.remove_posts:
            units.check_keeps_mortgage_clerk(user, what=_("removing the post"))
        work.check_no_open_work(user, posts=plan.remove_posts, what=_("the post is removed"))


@recorded("staff_change")
def staff_change(*, actor, user: User, posts=None, approval_limit=UNCHANGED, is_active=None, reason: str = "",
                 via: str = "admin", unit=None) -> StaffChangeResult:
    """Save the staff form's powers (rule 30): lowering (a post removed, a limit lowered, the account deactivated)
    takes effect now and is audited; a grant (a post added, a limit raised or emptied, re-activation) is filed
    as a ``StaffRequest`` for another manager. ``posts`` is the whole set wanted; None leaves a field unchanged."""
    if approval_limit is not UNCHANGED:
        approval_limit = _clean_limit(approval_limit)
    unit = _unit_code(unit)
    with transaction.atomic():
        user = _lock(user)
        plan = plan_staff_change(StaffPowers.of(user), posts=posts, approval_limit=approval_limit, is_active=is_active,
                                 unit=unit)
        if not (plan.lowers or plan.grants):
            return StaffChangeResult(plan)
        _check_filer(actor, user)
        _check_plan(user, plan)
        if plan.lowers:
            _lower(user, plan, actor=actor, reason=reason, via=via)
        request = _file(user, plan, actor=actor, reason=reason, via=via) if plan.grants else None
    return StaffChangeResult(plan, request)


def _lower(user: User, plan: StaffChangePlan, *, actor, reason: str, via: str) -> None:
    context = {"via": via, "reason": reason} if reason else {"via": via}
    if plan.remove_posts:
        staff_set_posts(user=user, posts=user.posts - plan.remove_posts, actor=actor, context=context)
    fields = []
    if plan.lower_limit is not None:
        _audit(actor=actor, action="staff_limit", obj=user, reason=reason,
               payload={"old": _limit(user.approval_limit), "new": _limit(plan.lower_limit), "via": via})
        user.approval_limit = plan.lower_limit
        fields.append("approval_limit")
    if plan.deactivate:
        _check_lowering(user, plan)  # SPEC §13: an account with open work is not closed until it is handed over
        _audit(actor=actor, action="staff_active", obj=user, reason=reason,
               payload={"old": True, "new": False, "via": via})
        user.is_active = False
        fields.append("is_active")
    if fields:
        user.save(update_fields=fields)


def _file(user: User, plan: StaffChangePlan, *, actor, reason: str, via: str) -> StaffRequest:
    change_limit = plan.new_limit is not None or plan.clear_limit
    request = StaffRequest.objects.create(
        user=user, add_posts=sorted(plan.add_posts), change_limit=change_limit,
        approval_limit=plan.new_limit if change_limit else None, activate=plan.activate, unit_id=plan.move_unit,
        reason=(reason or "").strip(),
        before=_powers_json(StaffPowers.of(user)), via=via, filed_by=actor,
    )
    _audit(actor=actor, action="staff_request_file", obj=request, reason=request.reason, payload={
        "user": user.username, "add_posts": request.add_posts, "change_limit": change_limit,
        "approval_limit": _limit(request.approval_limit), "activate": request.activate, "unit": request.unit_id,
        "before": request.before, "via": via,
    })
    return request


def _require_post_recorded(actor, posts: tuple[str, ...], action: str) -> None:
    with recording(action, actor=actor):
        require_post(actor, *posts)


def staff_request_check_filer(*, actor) -> None:
    """The post check alone, asked by the API before it reads the input (SPEC §16.2)."""
    _require_post_recorded(actor, FILER_POSTS, "staff_request_file")


def staff_request_check_decider(*, actor, action: str = "staff_request_approve") -> None:
    _require_post_recorded(actor, DECIDER_POSTS, action)


def staff_request_check_reader(*, actor) -> None:
    """Staff requests are read by the posts that file and decide them."""
    _require_post_recorded(actor, FILER_POSTS, "staff_request_list")


@recorded("staff_request_file")
def staff_request_file(*, actor, user: User, add_posts: Iterable[str] = (), approval_limit=UNCHANGED,
                       activate: bool = False, reason: str = "", via: str = "api", unit=None) -> StaffRequest:
    """File a grant for another manager to approve (rule 30): posts to add, a new approval limit (higher, set where
    there was none, or emptied), re-activation, a move to another unit (SPEC §13). Lowering is not a request: it is
    done in the staff form at once."""
    require_post(actor, *FILER_POSTS)
    if approval_limit is not UNCHANGED:
        approval_limit = _clean_limit(approval_limit)
    unit = _unit_code(unit)
    with transaction.atomic():
        user = _lock(user)
        check_maker_checker(user, actor, what=_("would change your own posts, approval limit or account"))
        add_posts = set(add_posts)
        check_post_combination(add_posts)  # unknown codes are named
        current = StaffPowers.of(user)
        plan = plan_staff_change(current, posts=current.posts | add_posts, approval_limit=approval_limit,
                                 is_active=True if activate else None, unit=unit)
        held = sorted(add_posts & current.posts)
        if held:
            raise RuleViolation("not_a_grant", _("%(name)s already holds: %(posts)s.")
                                % {"name": user.username, "posts": ", ".join(held)}, field="add_posts")
        if plan.lower_limit is not None:
            raise RuleViolation("not_a_grant", _("A lower approval limit is not a grant; change it in the staff form, "
                                                 "where lowering takes effect at once."), field="approval_limit")
        if activate and current.is_active:
            raise RuleViolation("not_a_grant", _("The account is already active."), field="activate")
        if unit is not None and unit == current.unit:
            raise RuleViolation("not_a_grant", _("%(name)s belongs to %(unit)s already.")
                                % {"name": user.username, "unit": unit}, field="unit")
        if not plan.grants:
            raise RuleViolation("no_change", _("The request grants nothing: name a post to add, a new approval "
                                               "limit, re-activation or another unit."))
        _check_plan(user, plan)
        return _file(user, plan, actor=actor, reason=reason, via=via)


def _check_unit_move(user: User, unit: str) -> None:
    """A person moves to another unit only without open work (SPEC §13) and never as a disbursing unit's last
    mortgage clerk."""
    units.check_keeps_mortgage_clerk(user, what=_("moving them to another unit"))
    work.check_no_open_work(user, what=_("they move to another unit"))


def _lock_request(request_id: int) -> StaffRequest:
    return StaffRequest.objects.select_for_update().select_related("filed_by").get(pk=request_id)


def _check_decider(request: StaffRequest, actor) -> None:
    require_post(actor, *DECIDER_POSTS)
    check_maker_checker(request.filed_by_id, actor, what=_("filed this staff request"))
    check_maker_checker(request.user_id, actor, what=_("are the person this request is about (your own posts, approval limit or account)"))
    if not request.is_pending:
        raise InvalidState(_("This staff request is already %(state)s.") % {"state": request.get_state_display()})


@recorded("staff_request_approve")
def staff_request_approve(*, request_id: int, actor, note: str = "") -> StaffRequest:
    """Another manager approves: the grant takes effect now. The post combination is checked again on the posts the
    person holds now (they may have changed since the request was filed)."""
    with transaction.atomic():
        request = _lock_request(request_id)
        _check_decider(request, actor)
        user = _lock(request.user)
        before = StaffPowers.of(user)
        posts = before.posts | set(request.add_posts)
        check_post_combination(posts)
        context = {"request": request.pk, "via": "request"}
        applied: dict = {}
        if posts != before.posts:
            staff_set_posts(user=user, posts=posts, actor=actor, context=context)
            applied["posts"] = {"old": sorted(before.posts), "new": sorted(posts)}
        fields = []
        if request.change_limit and request.approval_limit != before.approval_limit:
            applied["approval_limit"] = {"old": _limit(before.approval_limit), "new": _limit(request.approval_limit)}
            _audit(actor=actor, action="staff_limit", obj=user, payload={**applied["approval_limit"], **context})
            user.approval_limit = request.approval_limit
            fields.append("approval_limit")
        if request.activate and not before.is_active:
            applied["is_active"] = {"old": False, "new": True}
            _audit(actor=actor, action="staff_active", obj=user, payload={**applied["is_active"], **context})
            user.is_active = True
            fields.append("is_active")
        if request.unit_id is not None and request.unit_id != before.unit:
            _check_unit_move(user, request.unit_id)
            applied["unit"] = {"old": before.unit, "new": request.unit_id}
            _audit(actor=actor, action="staff_unit", obj=user, payload={**applied["unit"], **context})
            user.unit_id = request.unit_id
            fields.append("unit")
        if fields:
            user.save(update_fields=fields)
        request.approve()
        request.decided_by, request.decided_at = actor, timezone.now()
        request.decision_note, request.applied = (note or "").strip(), applied
        request.save(update_fields=["state", "decided_by", "decided_at", "decision_note", "applied"])
        _audit(actor=actor, action="staff_request_approve", obj=request, reason=request.decision_note,
               payload={"user": user.username, "filed_by": request.filed_by.username, "applied": applied})
    return request


@recorded("staff_request_reject")
def staff_request_reject(*, request_id: int, actor, note: str) -> StaffRequest:
    """Another manager rejects, with a reason; nothing changes."""
    with transaction.atomic():
        request = _lock_request(request_id)
        _check_decider(request, actor)
        if not (note or "").strip():
            raise RuleViolation("note_required", _("Give the reason for rejecting the request."), field="note")
        request.reject()
        request.decided_by, request.decided_at, request.decision_note = actor, timezone.now(), note.strip()
        request.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
        _audit(actor=actor, action="staff_request_reject", obj=request, reason=request.decision_note,
               payload={"user": request.user.username, "filed_by": request.filed_by.username})
    return request
