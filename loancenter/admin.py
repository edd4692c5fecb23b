"""Admin for staff (posts as groups; powers changed under rule 30), staff requests, the audit trail, refused attempts and
PII views."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import TokenProxy

from loancenter.admin_site import ReadOnlyAdmin, ServiceBackedAdmin, holds_admin_post
from loancenter.lib.errors import DomainError
from loancenter.models import AuditEntry, LoginCounter, PiiView, RefusedAttempt, StaffRequest, User
from loancenter.posts import POST_LABELS
from loancenter.refusals import record_refusal
from loancenter.rules import UNCHANGED, StaffChangePlan, check_post_combination
from loancenter.services import (
    staff_change,
    staff_change_check,
    staff_open_account,
    staff_password_changed,
    staff_request_file,
    staff_set_id_number,
)

# The fields rule 30 guards: written only by the staff services, never by the admin's form.
POWER_FIELDS = ("approval_limit", "is_active")

# Posts are groups named by their code; renaming or deleting one in the admin would silently take posts away.
admin.site.unregister(Group)
# API tokens are issued only to their owner (POST /api/auth/token/): a token made for someone else in the admin
# would carry that person's posts to whoever made it (a superuser passes Django's permission checks there).
admin.site.unregister(TokenProxy)


class PostsFormMixin(forms.Form):
    posts = forms.MultipleChoiceField(
        label=_("Posts"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(code, label) for code, label in POST_LABELS.items()],
    )
    reason = forms.CharField(
        label=_("Reason for the change"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Granting a post, raising the approval limit or re-activating the account is a request that "
                    "another manager approves (rule 30); removing a post, lowering the limit or deactivating takes "
                    "effect at once."),
    )
    actor = None  # the admin's user, set per request by StaffAdmin.get_form

    def _init_posts(self) -> None:
        if self.instance.pk:
            self.fields["posts"].initial = sorted(self.instance.posts)

    def add_domain_error(self, error: DomainError) -> None:
        field = error.field if error.field in self.fields else ("posts" if error.code in POST_CODES else None)
        self.add_error(field, error.message)


# Refusals about the posts themselves are shown on the posts field; the rest above the form.
POST_CODES = {"unknown_post", "post_conflict"}


class StaffCreationForm(PostsFormMixin, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "first_name", "id_number", "approval_limit")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_posts()

    def clean(self):
        cleaned = super().clean()
        try:
            check_post_combination(cleaned.get("posts") or [])
        except DomainError as error:
            self.add_domain_error(error)
        return cleaned


class StaffChangeForm(PostsFormMixin, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_posts()

    def clean(self):
        """Rule 30's checks before anything is saved (a refusal is recorded by the service)."""
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            staff_change_check(actor=self.actor, user=self.instance, **power_fields(self))
        except DomainError as error:
            self.add_domain_error(error)
        return cleaned


def power_fields(form) -> dict:
    """The powers the form asks for, as ``staff_change`` takes them (fields the form lacks stay unchanged)."""
    cleaned = form.cleaned_data
    wanted = {"posts": cleaned.get("posts") or []}
    if "approval_limit" in form.fields:
        wanted["approval_limit"] = cleaned.get("approval_limit")
    if "is_active" in form.fields:
        wanted["is_active"] = bool(cleaned.get("is_active"))
    return wanted


def describe(plan: StaffChangePlan, request: StaffRequest | None) -> tuple[str, str]:
    """What took effect at once and what waits, in words for the admin's message."""
    def posts(codes) -> str:
        return "、".join(str(POST_LABELS.get(p, p)) for p in sorted(codes))

    def amount(value) -> str:
        return f"{value:,.2f}" if value is not None else str(_("none"))

    now, later = [], []
    if plan.remove_posts:
        now.append(str(_("posts removed: %(posts)s")) % {"posts": posts(plan.remove_posts)})
    if plan.lower_limit is not None:
        now.append(str(_("approval limit lowered to %(limit)s")) % {"limit": amount(plan.lower_limit)})
    if plan.deactivate:
        now.append(str(_("account deactivated")))
    if request is not None:
        if request.add_posts:
            later.append(str(_("posts to grant: %(posts)s")) % {"posts": posts(request.add_posts)})
        if request.change_limit:
            later.append(str(_("approval limit %(limit)s")) % {"limit": amount(request.approval_limit)})
        if request.activate:
            later.append(str(_("re-activation")))
    return "; ".join(now), "; ".join(later)


@admin.register(User)
class StaffAdmin(ServiceBackedAdmin, UserAdmin):
    """Staff and their powers under rule 30: the form's posts, approval limit and active flag are never saved by the
    admin itself; ``staff_change`` lowers at once and files a request for any grant (another manager approves)."""

    form = StaffChangeForm
    add_form = StaffCreationForm
    list_display = ("username", "first_name", "post_list", "approval_limit", "is_active")
    list_filter = ("is_active", "groups")
    search_fields = ("username", "first_name", "last_name", "id_number")
    # Superuser status is the server operator's (createsuperuser), not staff administration: shown, never edited.
    readonly_fields = ("last_login", "date_joined", "is_staff", "is_superuser")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("first_name", "last_name", "email", "id_number")}),
        (_("Posts and authority"), {"fields": ("posts", "approval_limit", "is_active", "reason")}),
        (_("Account"), {"fields": ("last_login", "date_joined")}),
    )
    superuser_fieldsets = ((_("Superuser"), {"fields": ("is_staff", "is_superuser")}),)
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        (_("Person"), {"fields": ("first_name", "id_number")}),
        (_("Posts and authority"), {"fields": ("posts", "approval_limit", "reason")}),
    )

    @admin.display(description=_("Posts"))
    def post_list(self, obj: User) -> str:
        return "、".join(str(POST_LABELS.get(p, p)) for p in sorted(obj.posts))

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and request.user.is_superuser:
            fieldsets = fieldsets + self.superuser_fieldsets
        return fieldsets

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)  # a new class for each request
        form.actor = request.user
        return form

    # General and manager maintain staff (SPEC §1) through the services, which need the post itself; only a
    # superuser touches a superuser's account. The superuser flag alone maintains nothing: without the post it only
    # looks (SPEC §16.14).
    def has_add_permission(self, request, obj=None):
        return holds_admin_post(request.user)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return holds_admin_post(request.user)

    def save_model(self, request, obj, form, change):
        if not change:
            staff_open_account(actor=request.user, user=obj, via="admin")
            return
        # The powers are written by staff_change (save_related), never by the form: keep the stored values.
        stored = User.objects.get(pk=obj.pk)
        for name in POWER_FIELDS:
            setattr(obj, name, getattr(stored, name))
        # The ID number (the staff-loan check of SPEC §4 reads it) is changed by its own service, audited.
        wanted_id_number = obj.id_number
        obj.id_number = stored.id_number
        model_fields = {f.name for f in User._meta.concrete_fields}
        editable = [n for n in form.fields
                    if n in model_fields and n not in (*POWER_FIELDS, "id_number") and not form.fields[n].disabled]
        if editable:
            obj.save(update_fields=editable)
        if "id_number" in form.fields and wanted_id_number != stored.id_number:
            obj.id_number = staff_set_id_number(actor=request.user, user=obj, id_number=wanted_id_number).id_number

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        user, reason = form.instance, form.cleaned_data.get("reason") or ""
        if change:
            result = staff_change(actor=request.user, user=user, reason=reason, via="admin", **power_fields(form))
            plan, filed = result.plan, result.request
        else:
            posts, limit = set(form.cleaned_data.get("posts") or []), form.cleaned_data.get("approval_limit")
            filed = None
            if posts or limit is not None:
                filed = staff_request_file(actor=request.user, user=user, add_posts=posts, reason=reason, via="admin",
                                           approval_limit=limit if limit is not None else UNCHANGED)
            plan = StaffChangePlan()
        now, later = describe(plan, filed)
        if now:
            self.message_user(request, _("Took effect at once: %(what)s.") % {"what": now}, messages.SUCCESS)
        if filed is not None:
            self.message_user(
                request,
                _("Request #%(id)s filed (%(what)s): it waits for another manager's approval and changes nothing "
                  "until then.") % {"id": filed.pk, "what": later},
                messages.WARNING,
            )

    def refused(self, request, error: DomainError) -> None:
        error.recorded = False  # the service's own record went with the admin's rollback
        record_refusal(actor=request.user, action="staff_change", loan_id=None, error=error)

    def user_change_password(self, request, id, form_url=""):
        """Django's password form; a password it set (someone else's above all) goes into the audit trail too, not
        only into the admin's own log."""
        if not str(id).isdigit():
            return super().user_change_password(request, id, form_url)  # Django's own 404
        stored = User.objects.filter(pk=int(id)).values_list("password", flat=True)
        with transaction.atomic():
            before = stored.first()
            response = super().user_change_password(request, id, form_url)
            if before is not None and stored.first() != before:
                staff_password_changed(actor=request.user, user=User.objects.get(pk=int(id)), via="admin")
        return response


@admin.register(StaffRequest)
class StaffRequestAdmin(ReadOnlyAdmin):
    """Read-only: requests are decided on the managers' page or through the API (services.staff_request_*)."""

    list_display = ("id", "user", "state", "add_posts", "change_limit", "approval_limit", "activate", "filed_by",
                    "filed_at", "decided_by", "decided_at")
    list_filter = ("state",)
    search_fields = ("user__username", "filed_by__username")
    date_hierarchy = "filed_at"
    list_select_related = ("user", "filed_by", "decided_by")


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "action", "loan", "from_status", "to_status", "reason")
    list_filter = ("action",)
    search_fields = ("loan__application_no", "actor__username", "object_id")
    date_hierarchy = "at"
    list_select_related = ("actor", "loan")


@admin.register(RefusedAttempt)
class RefusedAttemptAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "action", "loan_id_ref", "code", "detail")
    list_filter = ("code", "action")
    search_fields = ("actor__username", "detail")
    date_hierarchy = "at"
    list_select_related = ("actor",)


@admin.register(PiiView)
class PiiViewAdmin(ReadOnlyAdmin):
    list_display = ("at", "viewer", "customer", "surface")
    list_filter = ("surface",)
    search_fields = ("viewer__username", "customer__name")
    date_hierarchy = "at"
    list_select_related = ("viewer", "customer")


@admin.register(LoginCounter)
class LoginCounterAdmin(ReadOnlyAdmin):
    """Failed-login counters: which username is locked from which address, and which address is throttled."""

    list_display = ("kind", "username", "address", "failures", "window_ends", "locked_until")
    list_filter = ("kind",)
    search_fields = ("username", "address")
