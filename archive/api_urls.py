"""Archive API routes; to be included at /api/archive/ by loancenter/api_urls.py."""

from django.urls import path

from archive import apis

urlpatterns = [
    path("folders/", apis.FolderList.as_view(), name="api-archive-folders"),
    path("folders/<int:pk>/", apis.FolderDetail.as_view(), name="api-archive-folder"),
    path("items/<int:pk>/", apis.ItemDetail.as_view(), name="api-archive-item"),
    path("lendings/", apis.LendingList.as_view(), name="api-archive-lendings"),
    *[
        path(f"lendings/<int:pk>/{name}/", apis.lending_action_view(name).as_view(), name=f"api-archive-lending-{name}")
        for name in apis.ACTIONS
    ],
]
