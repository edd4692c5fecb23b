from django.urls import path

from loancenter import pdf_views
from postloan.documents import collection_notice_pdf

urlpatterns = [
    path("loans/<int:pk>/receipt.pdf", pdf_views.receipt, name="loan-receipt-pdf"),
    path("loans/<int:pk>/approval.pdf", pdf_views.approval_form, name="loan-approval-pdf"),
    path("loans/<int:pk>/investigation.pdf", pdf_views.investigation_report, name="loan-investigation-pdf"),
    path("loans/<int:pk>/collection-notice.pdf", pdf_views._loan_pdf(collection_notice_pdf, "collection-notice-{no}.pdf"),
         name="loan-collection-notice-pdf"),
]
