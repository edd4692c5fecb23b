"""What the app does when a real part fails (issue 7): the database goes away, the broker is down."""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError, connections
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    """A request caught by a database restart answers a clean 503 (JSON under /api/, a page otherwise).

    The broken connection is closed so the next request opens a fresh one: the app recovers by itself.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        except (OperationalError, InterfaceError) as exc:  # raised outside a view (middleware, session save)
            return self._unavailable(request, exc)

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError | InterfaceError):
            return self._unavailable(request, exception)
        return None

    def _unavailable(self, request, exc):
        log.warning("database unavailable during %s %s: %s", request.method, request.path, exc)
        for conn in connections.all(initialized_only=True):
            conn.close_if_unusable_or_obsolete()
            if conn.errors_occurred or not conn.is_usable():
                conn.close()
        detail = _("The database is briefly unavailable; nothing was changed. Please try again in a moment.")
        if request.path.startswith("/api/") or request.headers.get("Accept", "").startswith("application/json"):
            response = JsonResponse({"code": "service_unavailable", "detail": detail}, status=503)
        else:
            response = render(request, "503.html", {"detail": detail}, status=503)
        response["Retry-After"] = "5"
        return response


def broker_unavailable_error():
    from loancenter.lib.errors import Unavailable

    return Unavailable(
        "queue_unavailable",
        _("The task queue is unavailable, so the work could not be started now. It stays queued and starts "
          "with the next scheduled run, or try again when the queue is back."),
    )
