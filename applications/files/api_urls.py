from django.urls import path

from applications.files import apis

urlpatterns = [
    path("loans/<int:pk>/documents/", apis.LoanDocumentsView.as_view(), name="api-loan-documents"),
    path("customers/<int:pk>/documents/", apis.CustomerDocumentsView.as_view(), name="api-customer-documents"),
    path("documents/<int:pk>/file/", apis.DocumentFileView.as_view(), name="api-document-file"),
    path("documents/<int:pk>/preview/", apis.DocumentPreviewView.as_view(), name="api-document-preview"),
    path("documents/<int:pk>/void/", apis.DocumentVoidView.as_view(), name="api-document-void"),
    path("documents/<int:pk>/void/approve/", apis.DocumentVoidDecideView.as_view(), name="api-document-void-approve"),
    path("documents/<int:pk>/void/reject/", apis.DocumentVoidRejectView.as_view(), name="api-document-void-reject"),
]
