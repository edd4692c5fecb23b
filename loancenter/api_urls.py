"""Addresses of the REST API under /api/ (SPEC §8)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from applications.apis import CustomerViewSet, LoanViewSet, ProductViewSet
from loancenter import transitions
from loancenter.apis import HasPost, TokenView
from loancenter.organisation_apis import HandoverApprove, HandoverDetail, HandoverList, HandoverReject, UnitList
from loancenter.search_views import SearchView
from loancenter.staff_apis import StaffRequestApprove, StaffRequestDetail, StaffRequestList, StaffRequestReject
from loancenter.transition_apis import TransitionView, transition_view
from postloan.report_apis import PortfolioView

router = SimpleRouter()
router.register("customers", CustomerViewSet, basename="api-customer")
router.register("products", ProductViewSet, basename="api-product")
router.register("loans", LoanViewSet, basename="api-loan")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    # The schema and its docs page are for staff too (session or token), like every other endpoint.
    path("schema/", SpectacularAPIView.as_view(permission_classes=[HasPost]), name="api-schema"),
    # The split view serves Swagger UI's start-up script from its own URL: no inline script under our CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=[HasPost]), name="api-docs"),
    *router.urls,
    # One route per registered transition (each documented with its own input), then a generic one that
    # also serves a transition registered after the URLs were loaded and answers 404 for unknown names.
    *[
        path(f"loans/<int:pk>/transitions/{name}/", transition_view(name).as_view(), name=f"api-loan-{name}")
        for name in transitions.REGISTRY
    ],
    path("loans/<int:pk>/transitions/<str:name>/", TransitionView.as_view(), name="api-loan-transition"),
    path("search/", SearchView.as_view(), name="api-search"),
    path("reports/portfolio/", PortfolioView.as_view(), name="api-portfolio"),
    path("staff-requests/", StaffRequestList.as_view(), name="api-staff-requests"),
    path("staff-requests/<int:pk>/", StaffRequestDetail.as_view(), name="api-staff-request"),
    path("staff-requests/<int:pk>/approve/", StaffRequestApprove.as_view(), name="api-staff-request-approve"),
    path("staff-requests/<int:pk>/reject/", StaffRequestReject.as_view(), name="api-staff-request-reject"),
    path("units/", UnitList.as_view(), name="api-units"),
    path("handovers/", HandoverList.as_view(), name="api-handovers"),
    path("handovers/<int:pk>/", HandoverDetail.as_view(), name="api-handover"),
    path("handovers/<int:pk>/approve/", HandoverApprove.as_view(), name="api-handover-approve"),
    path("handovers/<int:pk>/reject/", HandoverReject.as_view(), name="api-handover-reject"),
    path("archive/", include("archive.api_urls")),
    path("", include("applications.files.api_urls")),
    path("", include("applications.lpr.api_urls")),
    path("", include("postloan.api_urls")),
    path("", include("postloan.monitoring_api_urls")),
    path("", include("risk.api_urls")),
]
