"""Sessions that end after inactivity without a database write on every request, read by one plain statement
(issue 7, load). ``SESSION_ENGINE = "loancenter.sessions"`` uses this module's ``SessionStore``."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.sessions.backends import db as db_sessions
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import connections, router
from django.utils import timezone

from loancenter.lib.sql import fetch_all

REFRESHED_AT = "_refreshed_at"  # epoch seconds of the session's last save, kept in the session itself

_statements: dict[str, str] = {}  # _get_session_from_db's statement, once per backend (vendor)


class SessionStore(db_sessions.SessionStore):
    """Django's database sessions, the row read on every request by a precompiled statement.

    ``Session.objects.get(session_key=..., expire_date__gt=now)`` spent most of its CPU building the same SQL each
    time. The statement below is that query's: the same row from the same database, ``now`` adapted for the column
    as the ORM adapts it (SQLite compares text). Saving, deleting, cycling the key and ``clear_expired`` are
    Django's. ``load()`` decodes ``session_data`` as before, so tampered data still gives an empty session and a
    "Session data corrupted" warning on ``django.security.SuspiciousSession``.
    """

    def _get_session_from_db(self):
        model = self.model
        db = router.db_for_read(model)
        connection = connections[db]
        sql = _statements.get(connection.vendor)
        if sql is None:
            quote = connection.ops.quote_name
            column = lambda name: quote(model._meta.get_field(name).column)  # noqa: E731
            sql = _statements[connection.vendor] = (
                f"SELECT {column('session_key')}, {column('session_data')} FROM {quote(model._meta.db_table)}"
                f" WHERE {column('session_key')} = %s AND {column('expire_date')} > %s"
            )
        rows = fetch_all(connection, sql, [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())])
        row = rows[0] if rows else None
        if row is None:  # unknown, deleted (logged out) or expired: an empty session whose key is dropped
            self._session_key = None
            return None
        return model.from_db(db, ["session_key", "session_data"], row)  # expire_date deferred: no one reads it


class SlidingSessionMiddleware(SessionMiddleware):
    """Django's SessionMiddleware whose expiry slides forward at most once every ``SESSION_REFRESH_SECONDS``.

    ``SESSION_SAVE_EVERY_REQUEST`` would push the expiry forward by rewriting the session row (an UPDATE and a
    commit) on every request. Here a logged-in request re-saves the session — new expiry in the database and in
    the cookie's max-age — only when the last save is ``SESSION_REFRESH_SECONDS`` old or more; in between nothing
    is written and no cookie is sent, so the browser's cookie and the row keep the same expiry. A session
    therefore ends between ``SESSION_COOKIE_AGE - SESSION_REFRESH_SECONDS`` and ``SESSION_COOKIE_AGE`` seconds
    after its last request. Logging out still deletes the row at once.
    """

    def process_response(self, request, response):
        session = getattr(request, "session", None)
        if session is not None and session.session_key and response.status_code < 500:
            now = int(time.time())
            last = session.get(REFRESHED_AT)  # loads the session; a stale cookie's comes back empty
            if not session.is_empty() and not (isinstance(last, int) and 0 <= now - last < settings.SESSION_REFRESH_SECONDS):
                session[REFRESHED_AT] = now  # marks the session modified: the parent saves it and sets the cookie
        return super().process_response(request, response)
