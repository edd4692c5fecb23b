from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse

# Paths open without a login: the login page itself, the token endpoint, static files, language switch.
_OPEN_PREFIXES = ("/accounts/login/", "/api/auth/token/", "/static/", "/i18n/", "/healthz")


class LoginRequiredMiddleware:
    """Every page and endpoint requires login (issue 2). API paths answer 401/403 JSON via DRF; pages redirect."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        path = request.path_info
        if request.user.is_authenticated or path.startswith(_OPEN_PREFIXES):
            return None
        if path.startswith("/api/"):
            return None  # DRF authenticates (session or token) and refuses with 401/403 itself
        if path.startswith("/admin/"):
            return None  # the admin has its own login
        if getattr(view_func, "login_exempt", False):
            return None
        if request.headers.get("Accept", "").startswith("application/json"):
            return JsonResponse({"code": "not_authenticated", "detail": "Login required."}, status=401)
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)


class ForbiddenPageMiddleware:
    """A page whose post check refuses (``require_post`` raising :class:`Forbidden`) shows the 403 page with the
    refusal's own message: views call the rule directly instead of each wrapping it (the API maps it in DRF)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.core.exceptions import PermissionDenied
        from django.views.defaults import permission_denied

        from loancenter.lib.errors import Forbidden
        from loancenter.refusals import record_unrecorded

        if request.path_info.startswith("/api/"):
            return None
        if isinstance(exception, Forbidden):
            record_unrecorded(request, exception)
            return permission_denied(request, PermissionDenied(exception.message))
        if isinstance(exception, PermissionDenied):  # a page's own refusal: recorded too (SPEC §10), then Django's 403
            record_unrecorded(request, Forbidden("permission_denied", str(exception)))
        return None


class RejectNulMiddleware:
    """A NUL character in the query string is refused with a 400 before any view sees it.

    Search and filter parameters go straight into queries, and PostgreSQL refuses a NUL in a string literal
    (found by schemathesis): one check here rather than one per search box.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from urllib.parse import unquote_plus

        from django.http import HttpResponseBadRequest, JsonResponse

        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in unquote_plus(query):
            if request.path_info.startswith("/api/"):
                return JsonResponse({"code": "invalid", "detail": "NUL characters are not allowed."}, status=400)
            return HttpResponseBadRequest("NUL characters are not allowed.")
        return self.get_response(request)
