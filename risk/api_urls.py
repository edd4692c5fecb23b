"""Risk rating addresses under /api/ (loancenter.api_urls includes them)."""

from django.urls import path

from risk import apis

urlpatterns = [
    path("scorecards/", apis.ScorecardList.as_view(), name="api-scorecards"),
    path("scorecards/<int:pk>/", apis.ScorecardDetail.as_view(), name="api-scorecard"),
    path("scorecards/<int:pk>/approve/", apis.ScorecardApprove.as_view(), name="api-scorecard-approve"),
    path("scorecards/<int:pk>/reject/", apis.ScorecardReject.as_view(), name="api-scorecard-reject"),
]
