"""Backstop for the post-combination rule: whatever writes the groups (admin, shell, fixtures) is checked."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from loancenter.models import User
from loancenter.rules import check_post_combination


@receiver(m2m_changed, sender=User.groups.through)
def refuse_conflicting_posts(sender, instance, action, pk_set, **kwargs):
    if action != "pre_add" or not isinstance(instance, User):
        return
    adding = set(Group.objects.filter(pk__in=pk_set).values_list("name", flat=True))
    current = set(instance.groups.values_list("name", flat=True))
    check_post_combination(current | adding)
    instance.forget_posts()
