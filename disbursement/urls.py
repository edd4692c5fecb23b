"""Browser addresses of the contract-to-disbursement stage and the staff repayment form (mounted at /)."""

from django.urls import path

from disbursement import views
from postloan import repayment_views

urlpatterns = [
    path("loans/<int:pk>/disbursement-check/", views.disbursement_check, name="disbursement-check"),
    path("disbursement/ledger/", views.ledger, name="registration-ledger"),
    path("disbursement/ledger/<int:pk>/apply/", views.ledger_apply, name="registration-apply"),
    path("disbursement/ledger/<int:pk>/register/", views.ledger_register, name="registration-register"),
    path("disbursement/ledger/<int:pk>/hand-over/", views.ledger_hand_over, name="registration-hand-over"),
    path("loans/<int:pk>/schedule/", repayment_views.loan_schedule, name="loan-schedule"),
    path("loans/<int:pk>/repayments/", repayment_views.repayment_new, name="repayment-new"),
    path("loans/<int:pk>/repayments/<int:repayment_pk>/", repayment_views.repayment_detail, name="repayment-detail"),
]
