from django.urls import path

from loancenter.apis import TokenView

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
]
