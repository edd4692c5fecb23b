"""What applications does when the kernel's staff services say someone leaves a post (``loancenter.signals``)."""

from __future__ import annotations

from django.db.models import Q
from django.dispatch import receiver
from django.utils.translation import gettext as _

from applications.models import Loan
from applications.services import investigations_hand_over, open_investigations_of
from loancenter.lib.errors import Conflict, RuleViolation
from loancenter.posts import INVESTIGATOR
from loancenter.signals import id_number_changing, leaving_post


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


# A loan in one of these states is closed: its borrower and guarantors no longer need the staff-loan check.
_CLOSED_LOANS = ("settled", "withdrawn", "rejected")


@receiver(id_number_changing, dispatch_uid="applications_staff_party_number")
def refuse_changing_a_live_party_number(sender, *, user, old, new, **kwargs) -> None:
    """SPEC §4: a staff member's ID number that is the borrower's or a guarantor's of a loan not yet closed stays,
    since changing it would lift the staff-loan check on that loan."""
    loan = (Loan.objects.exclude(status__in=_CLOSED_LOANS)
            .filter(Q(customer__id_number=old) | Q(guarantors__customer__id_number=old))
            .order_by("pk").first())
    if loan is not None:
        raise Conflict("staff_party", _(
            "%(name)s's ID number is that of the borrower or a guarantor of loan %(loan)s, which is not closed; "
            "changing it would lift the staff-loan check on that loan (SPEC §4).")
            % {"name": user.username, "loan": loan.application_no or loan.pk})
