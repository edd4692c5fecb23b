from django.urls import path

from applications import views

urlpatterns = [
    path("customers/", views.customer_list, name="customer-list"),
    path("customers/new/", views.customer_create, name="customer-create"),
    path("customers/new/inline/", views.customer_create_inline, name="customer-create-inline"),
    path("customers/search/", views.customer_search, name="customer-search"),
    path("customers/<int:pk>/", views.customer_detail, name="customer-detail"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="customer-edit"),
    path("customers/<int:pk>/warning/", views.customer_warning, name="customer-warning"),
    path("products/", views.product_list, name="product-list"),
    path("products/new/", views.product_form, name="product-create"),
    path("products/<int:pk>/edit/", views.product_form, name="product-edit"),
    path("loans/", views.loan_list, name="loan-list"),
    path("loans/new/", views.loan_create, name="loan-create"),
    path("loans/calculator/", views.loan_calculator, name="loan-calculator"),
    path("loans/<int:pk>/edit/", views.loan_edit, name="loan-edit"),
]
