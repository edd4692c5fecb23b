from django.contrib.auth import views as auth_views
from django.urls import include, path

from loancenter import handover_views, loan_page, search_views, security_views, staff_views, transition_views, views

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("search/", search_views.search_page, name="search"),
    path("security/pii-views/", security_views.pii_views, name="pii-views"),
    path("staff-requests/", staff_views.staff_requests, name="staff-requests"),
    path("staff-requests/<int:pk>/<str:action>/", staff_views.staff_request_action, name="staff-request-action"),
    path("loans/<int:pk>/", loan_page.loan_detail, name="loan-detail"),
    path("loans/<int:pk>/do/<slug:name>/", transition_views.loan_transition, name="loan-transition"),
    path("handovers/", handover_views.handover_list, name="handovers"),
    path("handovers/<int:pk>/", handover_views.handover_detail, name="handover"),
    path("handovers/<int:pk>/sheet.pdf", handover_views.handover_sheet, name="handover-sheet"),
    path("handovers/<int:pk>/<str:action>/", handover_views.handover_action, name="handover-action"),
    path("", include("applications.urls")),
    path("", include("applications.files.urls")),
    path("", include("applications.lpr.urls")),
    path("", include("review.urls")),
    path("", include("disbursement.urls")),
    path("", include("postloan.repayment_urls")),
]
