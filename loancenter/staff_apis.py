"""Staff requests through the API (rule 30): file a grant, list, approve or reject (another manager).

``GET/POST /api/staff-requests/``, ``GET /api/staff-requests/{id}/``, ``POST /api/staff-requests/{id}/approve/`` and
``…/reject/``. Thin views: the post is checked before the input (SPEC §16.2), the input parsed, the service called;
refusals are ``DomainError`` (mapped by ``loancenter.apis.exception_handler``) and recorded by the services.
"""

from __future__ import annotations

from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from loancenter import services
from loancenter.apis import HasPost
from loancenter.lib.errors import RuleViolation
from loancenter.models import StaffRequest, Unit, User
from loancenter.posts import ALL_POSTS
from loancenter.refusals import record_refusal
from loancenter.rules import UNCHANGED

LIST_LIMIT = 500


class StaffRequestSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    filed_by = serializers.CharField(source="filed_by.username")
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True)

    class Meta:
        model = StaffRequest
        fields = ["id", "user", "state", "add_posts", "change_limit", "approval_limit", "activate", "unit", "reason",
                  "before",
                  "via", "filed_by", "filed_at", "decided_by", "decided_at", "decision_note", "applied"]


class StaffRequestInput(serializers.Serializer):
    user = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all(),
                                        help_text="the username of the person the grant is for (never yourself)")
    add_posts = serializers.ListField(child=serializers.ChoiceField(choices=ALL_POSTS), required=False,
                                      help_text="posts to grant (the person does not hold them yet)")
    approval_limit = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True,
        help_text="the new approval limit (higher than now, or null: no limit). Leave it out to keep the limit.",
    )
    activate = serializers.BooleanField(required=False, default=False, help_text="re-activate the account")
    unit = serializers.SlugRelatedField(slug_field="code", queryset=Unit.objects.all(), required=False,
                                        help_text="the code of the unit to move the person to (SPEC §13)")
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    def to_service(self) -> dict:
        data = dict(self.validated_data)
        data["add_posts"] = data.get("add_posts") or []
        data["approval_limit"] = data["approval_limit"] if "approval_limit" in data else UNCHANGED
        return data


class DecisionInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


def _parsed(input_cls, request, *, action: str) -> dict:
    """Valid input, or a 400 ``{"code": "invalid", "detail", <field>: [...]}`` that is recorded as a refusal."""
    parsed = input_cls(data=request.data)
    if parsed.is_valid():
        return parsed.to_service() if hasattr(parsed, "to_service") else dict(parsed.validated_data)
    detail = "; ".join(f"{field}: {' '.join(str(e) for e in errors)}" for field, errors in parsed.errors.items())
    record_refusal(actor=request.user, action=action, loan_id=None, error=RuleViolation("invalid", detail))
    raise _InvalidInput({"code": "invalid", "detail": _("Please correct the fields: %(d)s") % {"d": detail},
                         **parsed.errors})


class _InvalidInput(Exception):
    def __init__(self, body: dict):
        super().__init__(body["detail"])
        self.body = body


class _StaffRequestView(APIView):
    permission_classes = [HasPost]

    def handle_exception(self, exc):
        if isinstance(exc, _InvalidInput):
            return Response(exc.body, status=status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)


class StaffRequestList(_StaffRequestView):
    @extend_schema(
        summary="Staff requests, newest first (general, manager)",
        parameters=[OpenApiParameter("state", str, enum=StaffRequest.State.values),
                    OpenApiParameter("user", str, description="username")],
        responses=StaffRequestSerializer(many=True),
    )
    def get(self, request):
        services.staff_request_check_reader(actor=request.user)
        items = StaffRequest.objects.select_related("user", "filed_by", "decided_by")
        if request.query_params.get("state") in StaffRequest.State.values:
            items = items.filter(state=request.query_params["state"])
        if request.query_params.get("user"):
            items = items.filter(user__username=request.query_params["user"])
        return Response(StaffRequestSerializer(items[:LIST_LIMIT], many=True).data)

    @extend_schema(summary="File a grant for another manager to approve (general, manager; never about yourself)",
                   request=StaffRequestInput, responses={201: StaffRequestSerializer})
    def post(self, request):
        services.staff_request_check_filer(actor=request.user)
        data = _parsed(StaffRequestInput, request, action="staff_request_file")
        item = services.staff_request_file(actor=request.user, via="api", **data)
        return Response(StaffRequestSerializer(item).data, status=status.HTTP_201_CREATED)


class StaffRequestDetail(_StaffRequestView):
    @extend_schema(summary="One staff request (general, manager)", responses=StaffRequestSerializer)
    def get(self, request, pk: int):
        services.staff_request_check_reader(actor=request.user)
        item = get_object_or_404(StaffRequest.objects.select_related("user", "filed_by", "decided_by"), pk=pk)
        return Response(StaffRequestSerializer(item).data)


def _decision(service, action: str, summary: str):
    class View(_StaffRequestView):
        @extend_schema(summary=summary, request=DecisionInput, responses=StaffRequestSerializer)
        def post(self, request, pk: int):
            services.staff_request_check_decider(actor=request.user, action=action)
            item = get_object_or_404(StaffRequest, pk=pk)
            data = _parsed(DecisionInput, request, action=action)
            return Response(StaffRequestSerializer(service(request_id=item.pk, actor=request.user, **data)).data)

    View.__name__ = f"{service.__name__}_view"
    return View


StaffRequestApprove = _decision(services.staff_request_approve, "staff_request_approve",
                                "Approve a staff request: it takes effect now (another manager: neither the filer "
                                "nor the person it is about)")
StaffRequestReject = _decision(services.staff_request_reject, "staff_request_reject",
                               "Reject a staff request with a note (another manager)")
