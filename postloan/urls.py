"""Post-loan pages, mounted at /postloan/."""

from django.urls import path

from postloan import views

urlpatterns = [
    path("collections/", views.collection_queue, name="collection-queue"),
    path("cases/<int:pk>/", views.case_detail, name="collection-case"),
    path("tasks/<int:pk>/done/", views.task_done, name="escalation-task-done"),
    path("agencies/", views.agencies, name="collection-agencies"),
    path("pending/", views.servicing_list, name="postloan-pending"),
    path("loans/<int:pk>/", views.loan_page, name="postloan-loan"),
    path("loans/<int:pk>/servicing/<slug:kind>/", views.servicing_file, name="servicing-file"),
    path("servicing/<int:pk>/", views.servicing_detail, name="servicing-detail"),
    path("servicing/<int:pk>/<slug:action>/", views.servicing_action, name="servicing-action"),
    path("loans/<int:pk>/write-off/", views.write_off_propose, name="write-off-propose"),
    path("write-offs/<int:pk>/", views.write_off_detail, name="write-off-detail"),
    path("write-offs/<int:pk>/<slug:action>/", views.write_off_action, name="write-off-action"),
    path("loans/<int:pk>/grade/", views.grade_change_propose, name="grade-change-propose"),
    path("grade-changes/<int:pk>/<slug:action>/", views.grade_change_action, name="grade-change-action"),
]
