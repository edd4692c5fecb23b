from django.urls import path

from review import views

urlpatterns = [
    path("loans/<int:pk>/notification/", views.loan_notification, name="loan-notification"),
]
