"""A liveness probe that touches nothing: no database, no session, no template (also the load benchmark's floor)."""

from django.http import HttpResponse


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")
