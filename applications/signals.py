"""What applications does when the kernel's staff services say someone leaves a post (``loancenter.signals``)."""

from __future__ import annotations

from django.dispatch import receiver
from django.utils.translation import gettext as _

from applications.services import investigations_hand_over, open_investigations_of
from loancenter.lib.errors import RuleViolation
from loancenter.posts import INVESTIGATOR
from loancenter.signals import leaving_post


@receiver(leaving_post, dispatch_uid="applications_hand_over_investigations")
def hand_over_investigations(sender, *, user, post, handover_to, actor, reason, **kwargs) -> None:
    """Rule 7 / SPEC §13: an investigator's open investigations go to a named successor before they leave."""
    if post != INVESTIGATOR or not open_investigations_of(user):
        return
    if handover_to is None:
        raise RuleViolation(
            "handover_required",
            _("%(name)s has open investigations; name the investigator who takes them over (rule 7).")
            % {"name": user.username},
        )
    investigations_hand_over(from_user=user, to_user=handover_to, actor=actor, reason=reason)
