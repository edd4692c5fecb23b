from django.urls import path

from applications.lpr import views

urlpatterns = [
    path("lpr/", views.lpr_register, name="lpr-register"),
    path("lpr/<int:pk>/<str:action>/", views.lpr_action, name="lpr-action"),
]
