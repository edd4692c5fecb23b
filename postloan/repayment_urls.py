"""Browser addresses of the staff repayment form (mounted at /, beside the loan page)."""

from django.urls import path

from postloan import repayment_views

urlpatterns = [
    path("loans/<int:pk>/schedule/", repayment_views.loan_schedule, name="loan-schedule"),
    path("loans/<int:pk>/repayments/", repayment_views.repayment_new, name="repayment-new"),
    path("loans/<int:pk>/repayments/<int:repayment_pk>/", repayment_views.repayment_detail, name="repayment-detail"),
]
