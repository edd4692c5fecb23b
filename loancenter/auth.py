"""Authentication with lock-out: repeated failed logins lock the account for a while (issue 2).

Every way in — the login page, DRF's session and token endpoints, the admin — goes through
``authenticate()``, so the lock-out lives here once.
"""

from __future__ import annotations

import functools
import weakref
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db import connections, router
from django.db.models import F
from django.utils import timezone

from loancenter.lib.sql import convert_rows, fetch_all, row_converters

# get_user's statement, once per backend (vendor), and the converters of its columns, once per connection.
_user_statements: dict[str, str] = {}
_user_converters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@functools.cache
def _user_columns() -> tuple[list, list[str]]:
    """The user model's columns (expressions, for the converters) and their attribute names, in ``from_db``'s order."""
    fields = get_user_model()._meta.concrete_fields
    return [field.cached_col for field in fields], [field.attname for field in fields]


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

    def get_user(self, user_id):
        """ModelBackend's ``get_user`` — the session's user, read on every request — by one precompiled statement.

        ``User._default_manager.get(pk=user_id)`` spent most of its CPU building the same SQL each time. This reads
        the same row from the same database (the router's choice for reads) and builds the user with
        ``Model.from_db`` from the values the ORM would give (converted as it converts them), so the object is the
        ORM's. An unknown id or an inactive user gives ``None``, as before; Django's ``get_user`` then checks the
        session's password hash against the user's.
        """
        User = get_user_model()
        pk = User._meta.pk
        user_id = pk.get_prep_value(user_id)  # int(); a wrong type raises as the ORM's lookup would
        db = router.db_for_read(User)
        connection = connections[db]
        low, high = connection.ops.integer_field_range(pk.get_internal_type())
        if user_id is None or (low is not None and user_id < low) or (high is not None and user_id > high):
            return None  # the ORM finds no row without asking (EmptyResultSet)
        columns, attnames = _user_columns()
        sql = _user_statements.get(connection.vendor)
        if sql is None:
            quote = connection.ops.quote_name
            sql = _user_statements[connection.vendor] = "SELECT {} FROM {} WHERE {} = %s".format(
                ", ".join(quote(column.target.column) for column in columns),
                quote(User._meta.db_table),
                quote(pk.column),
            )
        rows = fetch_all(connection, sql, [user_id])
        if not rows:
            return None
        row = rows[0]
        converters = _user_converters.get(connection)
        if converters is None:
            converters = _user_converters[connection] = row_converters(connection, columns)
        row = list(row)
        convert_rows(connection, columns, [row], converters)
        user = User.from_db(db, attnames, row)
        return user if self.user_can_authenticate(user) else None


def is_locked(username: str) -> bool:
    User = get_user_model()
    return User._default_manager.filter(username=username, locked_until__gt=timezone.now()).exists()
