"""Backstop for the post-combination rule: whatever writes the groups (admin, shell, fixtures) is checked; and the
signal the staff services send before someone leaves a post, for the apps that hold that post's open work."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed
from django.dispatch import Signal, receiver

from loancenter.models import User
from loancenter.rules import check_post_combination

# Sent (user, post, handover_to, actor, reason) before ``user`` leaves ``post`` or their account closes (SPEC §13:
# open work is handed over first). The work belongs to apps above the kernel; their receivers hand it over to
# ``handover_to`` or refuse with a DomainError (nothing changes then). ``applications`` hands over investigations.
leaving_post = Signal()
# Sent (user, old, new) before a staff member's ID number changes from a non-empty ``old`` (SPEC §4: staff loans are
# matched by it). ``applications`` refuses (Conflict ``staff_party``) when ``old`` is a party's of a live loan.
id_number_changing = Signal()


@receiver(m2m_changed, sender=User.groups.through)
def refuse_conflicting_posts(sender, instance, action, pk_set, **kwargs):
    if action != "pre_add" or not isinstance(instance, User):
        return
    adding = set(Group.objects.filter(pk__in=pk_set).values_list("name", flat=True))
    current = set(instance.groups.values_list("name", flat=True))
    check_post_combination(current | adding)
    instance.forget_posts()
