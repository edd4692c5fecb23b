"""The project's URLs with the archive API at /api/archive/ (as loancenter/api_urls.py is asked to include it)."""

from django.urls import include, path

urlpatterns = [
    path("api/archive/", include("archive.api_urls")),
    path("", include("loancenter.urls")),
]
