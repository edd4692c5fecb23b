"""API plumbing shared by every app: the error mapping and the token endpoint."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.exceptions import APIException, Throttled
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from loancenter.auth import (
    LoginThrottle,
    address_throttled,
    client_address,
    refused_as_throttled,
    token_expires_at,
    token_issue,
)
from loancenter.lib.errors import DomainError, Forbidden
from loancenter.refusals import record_unrecorded


def exception_handler(exc, context):
    """DomainError → its status with ``{"code", "detail"}``; model validation → 400 field errors."""
    if isinstance(exc, DomainError):
        record_unrecorded(context["request"], exc)
        body = exc.as_dict()
        if exc.status == status.HTTP_400_BAD_REQUEST and exc.field and exc.field not in body:
            # A rule tied to one input also reads as that field's error, like DRF's own field errors.
            body[exc.field] = [exc.message]
        return Response(body, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(errors, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.PermissionDenied) and getattr(context["request"].user, "is_authenticated", False):
        record_unrecorded(context["request"], Forbidden(str(exc.get_codes()), str(exc.detail)))  # e.g. no post at all
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, APIException) and isinstance(response.data, dict) and "detail" in response.data:
        response.data.setdefault("code", exc.get_codes() if isinstance(exc.get_codes(), str) else "error")
    return response


class HasPost(BasePermission):
    """Logged in and holding at least one post: a staff account without a post sees nothing (403)."""

    code = "post_required"
    message = gettext_lazy("Your account holds no post in the loan center.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.posts)  # a superuser too (SPEC §16.14)


class TokenRequest(serializers.Serializer):
    # DRF's CharField refuses NUL characters and over-long strings with a 400 (PostgreSQL cannot store NUL).
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class TokenView(APIView):
    """``POST /api/auth/token/`` with username and password → ``{"token", "expires_at"}``.

    Lock-out and throttle apply (``loancenter.auth``): a locked username gets the wrong-password answer; an address
    past ``LOGIN_THROTTLE_RATE`` gets 429 ``throttled`` with ``Retry-After``. The token lasts ``API_TOKEN_HOURS``.
    """

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [LoginThrottle]

    @extend_schema(
        request=TokenRequest,
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField(),
                                                     "expires_at": serializers.DateTimeField()}),
            400: inline_serializer("TokenRefused", {"code": serializers.CharField(), "detail": serializers.CharField()}),
            429: inline_serializer("TokenThrottled", {"code": serializers.CharField(),
                                                      "detail": serializers.CharField()}),
        },
    )
    def post(self, request):
        credentials = TokenRequest(data=request.data)
        if not credentials.is_valid():
            return Response({"code": "invalid", "detail": _("Username and password are required."),
                             **credentials.errors}, status=400)
        username, password = credentials.validated_data["username"], credentials.validated_data["password"]
        user = authenticate(request, username=username, password=password)
        if user is None and refused_as_throttled(request):
            raise Throttled(wait=address_throttled(client_address(request)))
        if user is None:
            # The same answer for a wrong password, an unknown username, an inactive account and a locked one.
            return Response({"code": "authentication_failed", "detail": _("Wrong username or password.")}, status=400)
        token = token_issue(user)
        return Response({"token": token.key, "expires_at": token_expires_at(token)})


class ErrorSerializer(serializers.Serializer):
    """A refusal: 403 (post, separation of duty, authority), 409 (``invalid_state``) or a 400 business rule."""

    code = serializers.CharField()
    detail = serializers.CharField()
    field = serializers.CharField(required=False)
