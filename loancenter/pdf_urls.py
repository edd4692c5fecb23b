from django.urls import path

from loancenter import pdf_views

urlpatterns = [
    path("loans/<int:pk>/receipt.pdf", pdf_views.receipt, name="loan-receipt-pdf"),
    path("loans/<int:pk>/contract.pdf", pdf_views.contract, name="loan-contract-pdf"),
    path("loans/<int:pk>/approval.pdf", pdf_views.approval_form, name="loan-approval-pdf"),
    path("loans/<int:pk>/investigation.pdf", pdf_views.investigation_report, name="loan-investigation-pdf"),
    path("loans/<int:pk>/collection-notice.pdf", pdf_views.collection_notice, name="loan-collection-notice-pdf"),
]
