"""Units: the center and its sub-centers (SPEC §13, §16.26). Created by ``manager`` or ``general``.

A unit that may disburse keeps a mortgage clerk of its own: its last active one is never moved away, deactivated or
relieved of the post (``check_keeps_mortgage_clerk``, asked by every staff service that could do it).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from loancenter import posts as P
from loancenter.lib.errors import RuleViolation
from loancenter.models import Unit, User
from loancenter.refusals import recorded

UNIT_POSTS = (P.MANAGER, P.GENERAL)


def _audit(*, actor, action: str, obj, payload: dict) -> None:
    from loancenter.services import _audit as audit  # the staff services' way to the one audit helper

    audit(actor=actor, action=action, obj=obj, payload=payload)


@recorded("unit_create", posts=UNIT_POSTS)
def unit_create(*, actor, code: str, name: str, may_disburse: bool = False) -> Unit:
    """A new sub-center (the center is made by a migration)."""
    unit = Unit(code=(code or "").strip().upper(), name=(name or "").strip(), may_disburse=bool(may_disburse))
    try:
        unit.full_clean(validate_unique=False)
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise RuleViolation("invalid", "; ".join(messages), field=field) from None
    if Unit.objects.filter(code=unit.code).exists():
        raise RuleViolation("unit_exists", _("A unit with the code %(code)s exists already.") % {"code": unit.code},
                            field="code")
    if Unit.objects.filter(name=unit.name).exists():
        raise RuleViolation("unit_exists", _("A unit named %(name)s exists already.") % {"name": unit.name},
                            field="name")
    try:
        with transaction.atomic():
            unit.save(force_insert=True)
            _audit(actor=actor, action="unit_create", obj=unit,
                   payload={"code": unit.code, "name": unit.name, "may_disburse": unit.may_disburse})
    except IntegrityError:  # created by someone else in the meantime
        raise RuleViolation("unit_exists", _("A unit with the code %(code)s exists already.") % {"code": unit.code},
                            field="code") from None
    return unit


def unit_by_code(code: str | None) -> Unit | None:
    """The unit named by ``code`` (None for None); an unknown code is refused with the code named."""
    if code is None:
        return None
    unit = Unit.objects.filter(code=str(code).strip().upper()).first()
    if unit is None:
        raise RuleViolation("unknown_unit", _("There is no unit with the code %(code)s.") % {"code": code},
                            field="unit")
    return unit


def check_keeps_mortgage_clerk(user: User, *, what: str) -> None:
    """A sub-center that may disburse keeps at least one active mortgage clerk (the seeds: a sub-center with lending
    authority has its own). Asked before ``user`` stops being one there: ``what`` says how (moved, deactivated…)."""
    if not (user.is_active and user.has_post(P.MORTGAGE_CLERK)):
        return
    unit = Unit.objects.select_for_update().get(pk=user.unit_id)
    if unit.is_center or not unit.may_disburse:  # the rule is the sub-centers' (docs/decisions.md)
        return
    others = (User.objects.filter(unit=unit, is_active=True, groups__name=P.MORTGAGE_CLERK)
              .exclude(pk=user.pk).exists())
    if not others:
        raise RuleViolation(
            "last_mortgage_clerk",
            _("%(name)s is the last mortgage clerk of %(unit)s, which disburses loans; %(what)s would leave it "
              "without one. Give the unit another mortgage clerk first.")
            % {"name": user.username, "unit": unit.name, "what": what},
        )
