from django.contrib import admin
from django.urls import include, path

from loancenter.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("loancenter.api_urls")),
    path("", include("loancenter.pdf_urls")),
    path("archive/", include("archive.urls")),
    path("postloan/", include("postloan.urls")),
    path("reports/", include("postloan.report_urls")),
    path("reports/", include("risk.report_urls")),
    path("", include("risk.urls")),
    path("", include("loancenter.web_urls")),
]
