"""Post-loan pages, mounted at /postloan/."""

from django.urls import path

from postloan import monitoring_views as mv
from postloan import views

urlpatterns = [
    path("collections/", views.collection_queue, name="collection-queue"),
    path("cases/<int:pk>/", views.case_detail, name="collection-case"),
    path("tasks/<int:pk>/done/", views.task_done, name="escalation-task-done"),
    path("agencies/", views.agencies, name="collection-agencies"),
    path("agencies/report/", views.agency_report, name="agency-report"),
    path("cases/<int:pk>/assign/", views.case_assign, name="case-assign"),
    path("cases/<int:pk>/assess/", views.case_assess, name="case-assess"),
    path("agency-assignments/<int:pk>/recall/", views.assignment_recall, name="assignment-recall"),
    path("pending/", views.servicing_list, name="postloan-pending"),
    path("loans/<int:pk>/", views.loan_page, name="postloan-loan"),
    path("loans/<int:pk>/servicing/<slug:kind>/", views.servicing_file, name="servicing-file"),
    path("servicing/<int:pk>/", views.servicing_detail, name="servicing-detail"),
    path("servicing/<int:pk>/<slug:action>/", views.servicing_action, name="servicing-action"),
    path("collaterals/<int:pk>/revalue/", views.collateral_revalue, name="collateral-revalue"),
    path("loans/<int:pk>/write-off/", views.write_off_propose, name="write-off-propose"),
    path("write-offs/<int:pk>/", views.write_off_detail, name="write-off-detail"),
    path("write-offs/<int:pk>/<slug:action>/", views.write_off_action, name="write-off-action"),
    path("loans/<int:pk>/grade/", views.grade_change_propose, name="grade-change-propose"),
    path("grade-changes/<int:pk>/<slug:action>/", views.grade_change_action, name="grade-change-action"),
    # Monitoring and early warning (issue 18)
    path("monitoring/", mv.monitoring_queue, name="monitoring-queue"),
    path("checks/", mv.check_register, name="check-register"),
    path("checks/<int:pk>/complete/", mv.check_complete, name="check-complete"),
    path("loans/<int:pk>/signals/new/", mv.signal_raise, name="signal-raise"),
    path("loans/<int:pk>/fund-use-proofs/new/", mv.fund_use_proof, name="fund-use-proof"),
    path("signals/", mv.signal_dashboard, name="signal-dashboard"),
    path("signals/<int:pk>/close/", mv.signal_close, name="signal-close"),
    path("customers/<int:pk>/credit-queries/new/", mv.credit_query_new, name="credit-query-new"),
    path("credit-queries/", mv.credit_queries, name="credit-queries"),
    path("notices/", mv.outbox, name="notice-outbox"),
    path("notices/<int:pk>/letter.pdf", mv.letter_pdf, name="notice-letter"),
]
