"""Archive pages, mounted at /archive/ (the checklist PDF address is SPEC §8's)."""

from django.urls import path

from archive import views

app_name = "archive"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("folders/", views.folder_list, name="folder-list"),
    path("folders/<int:pk>/", views.folder_detail, name="folder-detail"),
    path("customers/<int:customer_id>/open/", views.folder_open, name="folder-open"),
    path("loans/<int:pk>/", views.loan_archive, name="loan"),
    path("loans/<int:pk>/checklist.pdf", views.checklist_pdf, name="checklist-pdf"),
    path("files/<int:pk>/complete/", views.file_complete, name="file-complete"),
    path("files/<int:pk>/receive/", views.items_receive_bulk, name="items-receive-bulk"),
    path("items/<int:pk>/receive/", views.item_receive, name="item-receive"),
    path("items/<int:pk>/unreceive/", views.item_unreceive, name="item-unreceive"),
    path("items/<int:pk>/move/", views.vault_move, name="vault-move"),
    path("items/<int:item_pk>/lend/", views.lending_new, name="lending-new"),
    path("items/<int:item_pk>/destroy/", views.destruction_propose, name="destruction-propose"),
    path("vault/", views.vault, name="vault"),
    path("lendings/", views.lending_list, name="lending-list"),
    path("lendings/register.pdf", views.lending_register_pdf, name="lending-register-pdf"),
    path("lendings/<int:pk>/<str:action>/", views.lending_action, name="lending-action"),
    path("inspections/", views.inspections, name="inspections"),
    path("handovers/", views.handovers, name="handovers"),
    path("handovers/<int:pk>/confirm/", views.handover_confirm, name="handover-confirm"),
    path("destructions/", views.destructions, name="destructions"),
    path("destructions/register.pdf", views.destruction_register_pdf, name="destruction-register-pdf"),
    path("destructions/<int:pk>/<str:action>/", views.destruction_decide, name="destruction-decide"),
    path("retention/", views.retention, name="retention"),
]
