"""Schedule and repayment API addresses, included under /api/."""

from django.urls import path

from disbursement import apis

urlpatterns = [
    path("loans/<int:pk>/schedule/", apis.LoanSchedule.as_view(), name="api-loan-schedule"),
    path("loans/<int:pk>/repayments/", apis.LoanRepayments.as_view(), name="api-loan-repayments"),
]
