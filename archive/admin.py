"""Admin of the archive: the registers are read-only (they change only through the services, and destruction
records are kept forever); the retention periods are set by the general post and the manager through
``retention_set`` (audited).
"""

from __future__ import annotations

from django.contrib import admin

from archive.models import Destruction, Folder, Handover, Inspection, Lending, RetentionPeriod
from archive.services import retention_set
from loancenter.admin_site import ReadOnlyAdmin, ServiceBackedAdmin, holds_admin_post


@admin.register(RetentionPeriod)
class RetentionPeriodAdmin(ServiceBackedAdmin):
    list_display = ("category", "years", "basis")
    fields = ("category", "years", "basis")

    def has_add_permission(self, request, obj=None):
        return holds_admin_post(request.user)

    def has_change_permission(self, request, obj=None):
        return holds_admin_post(request.user)

    def save_model(self, request, obj, form, change):
        saved = retention_set(category=form.cleaned_data["category"], years=form.cleaned_data["years"],
                              basis=form.cleaned_data.get("basis", ""), actor=request.user)
        obj.pk = saved.pk


@admin.register(Folder)
class FolderAdmin(ReadOnlyAdmin):
    list_display = ("folder_no", "customer", "keeper", "shelf", "opened_at")
    search_fields = ("folder_no", "customer__name")


@admin.register(Lending)
class LendingAdmin(ReadOnlyAdmin):
    list_display = ("lending_no", "loan", "item", "requester", "status", "due_on", "decided_by", "out_at", "returned_at")
    list_filter = ("status",)
    search_fields = ("lending_no",)


@admin.register(Inspection)
class InspectionAdmin(ReadOnlyAdmin):
    list_display = ("inspected_on", "inspector", "scope", "folders_checked")


@admin.register(Handover)
class HandoverAdmin(ReadOnlyAdmin):
    list_display = ("handed_on", "from_user", "to_user", "confirmed_at")


@admin.register(Destruction)
class DestructionAdmin(ReadOnlyAdmin):
    list_display = ("item", "loan", "status", "retention_until", "proposed_by", "decided_by", "witness", "destroyed_on")
    list_filter = ("status",)
