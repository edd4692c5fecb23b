"""A loan that reaches approval (or moves on from it) gets its folder and checklist items (SPEC §7)."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from applications.customer_merge import customer_merging
from applications.models import Loan


@receiver(post_save, sender=Loan, dispatch_uid="archive_loan_saved")
def _loan_saved(sender, instance: Loan, update_fields=None, raw=False, **kwargs):
    # Transitions save the whole loan; partial saves (balances, grades) never change what the file must hold.
    if raw or (update_fields is not None and "status" not in update_fields):
        return
    from archive.services import loan_saved

    loan_saved(instance)


@receiver(customer_merging, dispatch_uid="archive_customer_merging")
def _customer_merging(sender, *, kept_id: int, merged_id: int, **kwargs) -> dict:
    """One folder per customer (SPEC §7): when both twins have one, the merged folder's loan files and hand-over
    entries move into the kept folder and the empty folder goes. A lone folder moves with its customer."""
    from archive.models import Folder, Handover, LoanFile

    kept = Folder._base_manager.filter(customer_id=kept_id).values_list("pk", flat=True).first()
    merged = Folder._base_manager.filter(customer_id=merged_id).values_list("pk", "folder_no").first()
    if kept is None or merged is None:
        return {}
    merged_pk, merged_no = merged
    files = list(LoanFile._base_manager.filter(folder_id=merged_pk).values_list("pk", flat=True))
    LoanFile._base_manager.filter(pk__in=files).update(folder_id=kept)
    links = Handover.folders.through._base_manager
    already = set(links.filter(folder_id=kept).values_list("handover_id", flat=True))
    links.filter(folder_id=merged_pk, handover_id__in=already).delete()
    links.filter(folder_id=merged_pk).update(folder_id=kept)
    Folder._base_manager.filter(pk=merged_pk).delete()
    return {"archive.loanfile": files, "archive.folder (removed)": [merged_no or merged_pk]}
