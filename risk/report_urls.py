"""Risk reports, mounted at /reports/ beside the post-loan ones."""

from django.urls import path

from risk import views

urlpatterns = [
    path("validation/", views.validation, name="validation-report"),
    path("overrides/", views.overrides, name="rate-overrides"),
]
