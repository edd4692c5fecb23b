"""API addresses of post-loan monitoring (SPEC §14), included under /api/."""

from django.urls import path

from postloan import monitoring_apis as apis

urlpatterns = [
    path("loans/<int:pk>/checks/", apis.LoanChecks.as_view(), name="api-loan-checks"),
    path("checks/<int:pk>/complete/", apis.CheckComplete.as_view(), name="api-check-complete"),
    path("checks/<int:pk>/sign-off/", apis.CheckSignOff.as_view(), name="api-check-sign-off"),
    path("loans/<int:pk>/signals/", apis.LoanSignals.as_view(), name="api-loan-signals"),
    path("signals/<int:pk>/close/", apis.SignalClose.as_view(), name="api-signal-close"),
    path("signals/counts/", apis.SignalCounts.as_view(), name="api-signal-counts"),
    path("customers/<int:pk>/credit-queries/", apis.CustomerCreditQueries.as_view(), name="api-credit-queries"),
    path("notices/", apis.NoticeList.as_view(), name="api-notices"),
    path("products/<int:pk>/check-plan/", apis.ProductCheckPlan.as_view(), name="api-check-plan"),
    path("loans/<int:pk>/fund-use-proofs/", apis.LoanProofs.as_view(), name="api-fund-use-proofs"),
]
