"""A loan that reaches approval (or moves on from it) gets its folder and checklist items (SPEC §7)."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from applications.models import Loan


@receiver(post_save, sender=Loan, dispatch_uid="archive_loan_saved")
def _loan_saved(sender, instance: Loan, update_fields=None, raw=False, **kwargs):
    # Transitions save the whole loan; partial saves (balances, grades) never change what the file must hold.
    if raw or (update_fields is not None and "status" not in update_fields):
        return
    from archive.services import loan_saved

    loan_saved(instance)
