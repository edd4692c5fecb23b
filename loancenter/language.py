"""Which language a request is answered in: Simplified Chinese unless the person chose English."""

from __future__ import annotations

from django.middleware.locale import LocaleMiddleware


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware, but pages ignore the browser's ``Accept-Language``.

    The centre's UI speaks Simplified Chinese (SPEC §8); a workstation with an English browser must not
    switch it. English is chosen explicitly with the language switch (``/i18n/setlang/`` sets the cookie).
    API clients under ``/api/`` may still ask for English with ``Accept-Language``, as HTTP intends.
    """

    def process_request(self, request):
        if not request.path_info.startswith("/api/") and "HTTP_ACCEPT_LANGUAGE" in request.META:
            request.META = {**request.META}
            del request.META["HTTP_ACCEPT_LANGUAGE"]
        super().process_request(request)
