"""Sessions that end after inactivity without a database write on every request (issue 7, load). The sessions
themselves are Django's database sessions (``SESSION_ENGINE``)."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware

REFRESHED_AT = "_refreshed_at"  # epoch seconds of the session's last save, kept in the session itself


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
