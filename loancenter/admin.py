"""Admin for staff (posts as groups), the audit trail, refused attempts and PII views."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import TokenProxy

from loancenter.admin_site import ReadOnlyAdmin, ServiceBackedAdmin, holds_admin_post
from loancenter.lib.errors import DomainError
from loancenter.models import AuditEntry, LoginCounter, PiiView, RefusedAttempt, User
from loancenter.posts import POST_LABELS
from loancenter.rules import check_post_combination
from loancenter.services import staff_set_posts

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

    def _init_posts(self) -> None:
        if self.instance.pk:
            self.fields["posts"].initial = sorted(self.instance.posts)

    def clean(self):
        cleaned = super().clean()
        try:
            check_post_combination(cleaned.get("posts") or [])
        except DomainError as error:
            self.add_error("posts", error.message)
        return cleaned


class StaffCreationForm(PostsFormMixin, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "first_name", "id_number", "approval_limit")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_posts()


class StaffChangeForm(PostsFormMixin, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_posts()


@admin.register(User)
class StaffAdmin(ServiceBackedAdmin, UserAdmin):
    """Staff and their posts. Posts are set through ``staff_set_posts`` (conflicts refused, hand-overs kept)."""

    form = StaffChangeForm
    add_form = StaffCreationForm
    list_display = ("username", "first_name", "post_list", "approval_limit", "is_active")
    list_filter = ("is_active", "groups")
    search_fields = ("username", "first_name", "last_name", "id_number")
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("first_name", "last_name", "email", "id_number")}),
        (_("Posts and authority"), {"fields": ("posts", "approval_limit")}),
        (_("Account"), {"fields": ("is_active", "last_login", "date_joined")}),
    )
    superuser_fieldsets = ((_("Superuser"), {"fields": ("is_staff", "is_superuser")}),)
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        (_("Person"), {"fields": ("first_name", "id_number")}),
        (_("Posts and authority"), {"fields": ("posts", "approval_limit")}),
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

    # General and manager maintain staff (SPEC §1); only a superuser touches a superuser's account. The superuser
    # flag alone maintains nothing: without the post it only looks (SPEC §16.14).
    def has_add_permission(self, request, obj=None):
        return holds_admin_post(request.user)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return holds_admin_post(request.user)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        user = form.instance
        posts = set(form.cleaned_data.get("posts") or [])
        if not change or posts != set(user.posts):
            staff_set_posts(user=user, posts=posts, actor=request.user)


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
