from django.urls import path

from applications.lpr import apis

urlpatterns = [
    path("lpr/", apis.LprList.as_view(), name="api-lpr"),
    path("lpr/<int:pk>/", apis.LprDetail.as_view(), name="api-lpr-detail"),
    path("lpr/<int:pk>/confirm/", apis.LprConfirm.as_view(), name="api-lpr-confirm"),
    path("lpr/<int:pk>/reject/", apis.LprReject.as_view(), name="api-lpr-reject"),
]
