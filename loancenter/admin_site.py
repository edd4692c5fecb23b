"""The admin site: open to the `general` and `manager` posts (and, read-only, to superusers), not to Django's
is_staff flag. Superusers hold no post powers (SPEC §16.14): every add, change and delete asks for the post.

Posts are the only permissions in this project (SPEC §1), so the admin asks for posts instead of Django's
per-model permission rows. The admin is for looking things up and maintaining products and staff; loans,
the audit trail and refusals are read-only here, because every change to a loan goes through a service
(lock, rules, transition, audit row).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from loancenter import posts as P
from loancenter.lib.errors import DomainError
from loancenter.refusals import record_refusal

ADMIN_POSTS = (P.GENERAL, P.MANAGER)


def may_use_admin(user) -> bool:
    """May open the admin and look; changing anything needs ``holds_admin_post``."""
    return bool(user.is_active and (user.is_superuser or user.has_any_post(*ADMIN_POSTS)))


def holds_admin_post(user) -> bool:
    """Maintenance through the services needs the post itself (a bare superuser may only look)."""
    return bool(user.is_active and user.has_any_post(*ADMIN_POSTS))


class PostAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form asks for an admin post instead of Django's is_staff flag."""

    def confirm_login_allowed(self, user):
        AuthenticationForm.confirm_login_allowed(self, user)  # active accounts only
        if not may_use_admin(user):
            raise ValidationError(self.error_messages["invalid_login"], code="invalid_login",
                                  params={"username": self.username_field.verbose_name})


class LoanCenterAdminSite(admin.AdminSite):
    login_form = PostAdminAuthenticationForm
    site_header = _("Personal-loan center administration")
    site_title = _("Loan center admin")
    index_title = _("Administration")

    def has_permission(self, request):
        return may_use_admin(request.user)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible to admin users; nobody adds, changes or deletes through the admin."""

    def has_module_permission(self, request):
        return may_use_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return may_use_admin(request.user)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields or ()

    def has_view_permission(self, request, obj=None):
        return may_use_admin(request.user)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceBackedAdmin(ReadOnlyAdmin):
    """Admin whose saves call a service. A refusal the form could not foresee shows as a message, saving nothing."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            # The admin's own transaction.atomic() around the view rolls everything back on the way out.
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            # The admin's transaction took the service's own record of the refusal with it: keep one here.
            self.refused(request, error)
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def refused(self, request, error: DomainError) -> None:
        """Called after the rollback; an admin with its own record of refusals overrides it."""
        error.recorded = False  # the service's own record went with the admin's rollback
        record_refusal(actor=request.user, action=f"admin_{self.model._meta.model_name}", loan_id=None, error=error)
