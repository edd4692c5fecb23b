"""Report pages, mounted at /reports/."""

from django.urls import path

from postloan import report_views

urlpatterns = [
    path("classification/", report_views.classification, name="classification-report"),
    path("batch/run/", report_views.batch_run_now, name="batch-run-now"),
    path("loans/", report_views.loan_list, name="report-loans"),
    path("warnings/", report_views.warning_levels, name="warning-levels"),
    path("officers/", report_views.officer_accountability, name="officer-accountability"),
    path("weekly/", report_views.weekly_report_list, name="weekly-reports"),
    path("weekly/<int:pk>.<str:fmt>", report_views.weekly_report_file, name="weekly-report-file"),
]
