from django.urls import path

from applications.files import views

urlpatterns = [
    path("loans/<int:pk>/documents/", views.loan_documents, name="loan-documents"),
    path("documents/<int:pk>/file/", views.document_file, name="document-file"),
    path("documents/<int:pk>/preview/", views.document_preview, name="document-preview"),
    path("documents/<int:pk>/void/", views.document_void, name="document-void"),
    path("documents/<int:pk>/void/decide/", views.document_void_decide, name="document-void-decide"),
    path("security/document-downloads/", views.document_downloads, name="document-downloads"),
]
