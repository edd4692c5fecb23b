"""Risk rating pages: the scorecards at /scorecards/, the reports under /reports/ (loancenter.urls mounts both)."""

from django.urls import path

from risk import views

urlpatterns = [
    path("scorecards/", views.scorecards, name="scorecards"),
    path("scorecards/new/", views.scorecard_new, name="scorecard-new"),
    path("scorecards/<int:pk>/", views.scorecard_detail, name="scorecard"),
    path("products/<int:pk>/rate-grid/", views.rate_grid, name="product-rate-grid"),
]
