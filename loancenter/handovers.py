"""岗位变动交接 (SPEC §13, §16.27; the seeds' 信贷调查员工作岗位变动的交接制度): file, approve, reject a hand-over.

Filed by ``general`` or ``manager`` (the giver's post changes, they leave, or they move to another unit); approved
by a ``manager`` who is neither the filer nor a party. The list of what moves (``loancenter.work``) is computed at
filing and again at approval, and the difference kept; on approval everything on the second list moves in one
transaction, each loan's audit trail recording it. While a hand-over is pending nothing new is assigned to the giver.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loancenter import posts as P
from loancenter import work
from loancenter.lib.errors import Conflict, InvalidState, RuleViolation, SeparationOfDuty
from loancenter.models import Handover, User
from loancenter.refusals import recorded
from loancenter.rules import check_maker_checker, require_post

FILER_POSTS = (P.GENERAL, P.MANAGER)
DECIDER_POSTS = (P.MANAGER,)
READER_POSTS = (P.GENERAL, P.MANAGER)


def _audit(*, actor, action: str, obj, payload: dict, reason: str = "") -> None:
    from loancenter.services import _audit as audit  # the one audit helper, as the staff services call it

    audit(actor=actor, action=action, obj=obj, payload=payload, reason=reason)


def items_of(user) -> list[dict]:
    """What ``user`` holds now, as the hand-over lists it: one dict per item, in the kinds' order."""
    return [item.as_dict() for items in work.open_work(user).values() for item in items]


def _key(item: dict) -> tuple:
    return item["kind"], item["id"]


def difference(filed: list[dict], now: list[dict]) -> dict:
    """What came and went between two lists: ``{"added": [...], "removed": [...]}``."""
    before, after = {_key(i) for i in filed}, {_key(i) for i in now}
    return {"added": [i for i in now if _key(i) not in before], "removed": [i for i in filed if _key(i) not in after]}


def check_not_handing_over(user) -> None:
    """Nothing new is assigned to a person while a hand-over of their work is pending (409 ``handover_pending``):
    asked where work is assigned to someone (a customer or application entered, an investigation taken, a file
    borrowed)."""
    if user is not None and user.pk and Handover.objects.filter(from_user=user, status=Handover.Status.PENDING).exists():
        raise Conflict("handover_pending",
                       _("A hand-over of %(name)s's work is waiting for approval; nothing new is assigned to them "
                         "until it is decided.") % {"name": user.username})


def _check_receiver(to_user: User, items: list[dict]) -> None:
    if not to_user.is_active:
        raise RuleViolation("receiver", _("%(name)s's account is not active.") % {"name": to_user.username},
                            field="to_user")
    present = {item["kind"] for item in items}
    for kind in work.kinds():
        if kind.code not in present:
            continue
        if kind.receiver_posts and not to_user.has_any_post(*kind.receiver_posts):
            raise RuleViolation(
                "receiver_post",
                _("%(name)s cannot take %(work)s: that needs the post %(posts)s.")
                % {"name": to_user.username, "work": kind.label(),
                   "posts": " / ".join(str(P.POST_LABELS[p]) for p in sorted(kind.receiver_posts))},
                field="to_user",
            )
        if kind.check_receiver is not None:
            kind.check_receiver(to_user, [item["id"] for item in items if item["kind"] == kind.code])


@recorded("handover_file", posts=FILER_POSTS)
def handover_file(*, actor, from_user: User, to_user: User, reason: str) -> Handover:
    """File a hand-over of everything ``from_user`` holds to ``to_user``; the list is computed now and shown."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation("reason_required", _("Say why the work is handed over."), field="reason")
    if from_user.pk == to_user.pk:
        raise RuleViolation("same_person", _("The work is handed to someone else."), field="to_user")
    with transaction.atomic():
        from_user = User.objects.select_for_update().get(pk=from_user.pk)
        if Handover.objects.filter(from_user=from_user, status=Handover.Status.PENDING).exists():
            raise Conflict("handover_pending", _("A hand-over of %(name)s's work is already waiting for approval.")
                           % {"name": from_user.username})
        if Handover.objects.filter(from_user=to_user, status=Handover.Status.PENDING).exists():
            raise Conflict("handover_pending", _("%(name)s is handing their own work over; they cannot receive work "
                                                 "until that is decided.") % {"name": to_user.username})
        items = items_of(from_user)
        _check_receiver(to_user, items)
        handover = Handover.objects.create(from_user=from_user, to_user=to_user, reason=reason, items=items,
                                           filed_by=actor)
        _audit(actor=actor, action="handover_file", obj=handover, reason=reason, payload={
            "from": from_user.username, "to": to_user.username, "items": len(items)})
    return handover


def _check_decider(handover: Handover, actor) -> None:
    require_post(actor, *DECIDER_POSTS)
    check_maker_checker(handover.filed_by_id, actor, what=_("filed this hand-over"))
    if actor.pk in (handover.from_user_id, handover.to_user_id):
        raise SeparationOfDuty(_("You are a party to this hand-over; a manager who is neither the filer nor a party "
                                 "approves it."))
    if not handover.is_pending:
        raise InvalidState(_("This hand-over is already %(status)s.") % {"status": handover.get_status_display()})


def _lock(handover_id: int) -> Handover:
    return Handover.objects.select_for_update().select_related("from_user", "to_user", "filed_by").get(pk=handover_id)


@recorded("handover_approve", posts=DECIDER_POSTS)
def handover_approve(*, actor, handover_id: int, note: str = "") -> Handover:
    """Approve: the list is computed again, the difference kept, and everything on it moves now, in one
    transaction (each loan's audit trail records its move)."""
    with transaction.atomic():
        handover = _lock(handover_id)
        _check_decider(handover, actor)
        from_user = User.objects.select_for_update().get(pk=handover.from_user_id)
        to_user = User.objects.select_for_update().get(pk=handover.to_user_id)
        now = items_of(from_user)
        _check_receiver(to_user, now)
        for kind in work.kinds():
            ids = [item["id"] for item in now if item["kind"] == kind.code]
            if ids:
                kind.move(from_user=from_user, to_user=to_user, actor=actor, ids=ids, reason=handover.reason,
                          handover=handover)
        handover.approve()
        handover.items_moved = now
        handover.difference = difference(handover.items, now)
        handover.decided_by, handover.decided_at = actor, timezone.now()
        handover.decision_note = (note or "").strip()
        handover.save(update_fields=["status", "items_moved", "difference", "decided_by", "decided_at",
                                     "decision_note"])
        _audit(actor=actor, action="handover_approve", obj=handover, reason=handover.decision_note, payload={
            "from": from_user.username, "to": to_user.username, "moved": len(now),
            "added": len(handover.difference["added"]), "removed": len(handover.difference["removed"])})
    return handover


@recorded("handover_reject", posts=DECIDER_POSTS)
def handover_reject(*, actor, handover_id: int, note: str) -> Handover:
    with transaction.atomic():
        handover = _lock(handover_id)
        _check_decider(handover, actor)
        if not (note or "").strip():
            raise RuleViolation("note_required", _("Give the reason for rejecting the hand-over."), field="note")
        handover.reject()
        handover.decided_by, handover.decided_at, handover.decision_note = actor, timezone.now(), note.strip()
        handover.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        _audit(actor=actor, action="handover_reject", obj=handover, reason=handover.decision_note,
               payload={"from": handover.from_user.username, "to": handover.to_user.username})
    return handover


def check_reader(*, actor) -> None:
    require_post(actor, *READER_POSTS)


def handover_preview(handover: Handover) -> dict:
    """What the decider sees: the list filed, the list now and the difference (pending); as decided otherwise."""
    if not handover.is_pending:
        return {"items": handover.items_moved or handover.items, "difference": handover.difference}
    now = items_of(handover.from_user)
    return {"items": now, "difference": difference(handover.items, now)}


def kind_label(code: str) -> str:
    kind = work.REGISTRY.get(code)
    return kind.label() if kind is not None else code
