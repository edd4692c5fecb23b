"""Browser addresses of the contract-to-disbursement stage (mounted at /)."""

from django.urls import path

from disbursement import views

urlpatterns = [
    path("loans/<int:pk>/disbursement-check/", views.disbursement_check, name="disbursement-check"),
    path("disbursement/ledger/", views.ledger, name="registration-ledger"),
    path("disbursement/ledger/<int:pk>/apply/", views.ledger_apply, name="registration-apply"),
    path("disbursement/ledger/<int:pk>/register/", views.ledger_register, name="registration-register"),
    path("disbursement/ledger/<int:pk>/hand-over/", views.ledger_hand_over, name="registration-hand-over"),
]
