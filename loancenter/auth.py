"""Authentication with lock-out: repeated failed logins lock the account for a while (issue 2).

Every way in — the login page, DRF's session and token endpoints, the admin — goes through
``authenticate()``, so the lock-out lives here once.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.utils import timezone


class LockoutModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        User = get_user_model()
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        user = User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None:
            User().set_password(password)  # same cost as a real check: no timing oracle for usernames
            return None
        now = timezone.now()
        if user.locked_until and user.locked_until > now:
            raise PermissionDenied("account locked")  # stops other backends; the form shows "locked"
        if user.check_password(password) and self.user_can_authenticate(user):
            if user.failed_login_count or user.locked_until:
                User._default_manager.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
            return user
        User._default_manager.filter(pk=user.pk).update(failed_login_count=F("failed_login_count") + 1)
        user.refresh_from_db(fields=["failed_login_count"])
        if user.failed_login_count >= settings.LOGIN_MAX_FAILURES:
            User._default_manager.filter(pk=user.pk).update(
                failed_login_count=0, locked_until=now + timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
            )
        return None


def is_locked(username: str) -> bool:
    User = get_user_model()
    return User._default_manager.filter(username=username, locked_until__gt=timezone.now()).exists()
