"""Scorecard versions through the API (SPEC §15, §16.30): ``GET/POST /api/scorecards/``, ``GET /api/scorecards/{id}/``,
``POST /api/scorecards/{id}/approve/`` and ``…/reject/`` (another person than the filer). A filed version is
read-only: ``PATCH``/``PUT``/``DELETE`` answer 409 ``scorecard_read_only`` (file a new version instead)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from applications.catalog import CATEGORIES
from applications.models import ScorecardVersion
from applications.pricing.services import CARD_POSTS, scorecard_approve, scorecard_file, scorecard_reject
from loancenter.apis import HasPost
from loancenter.lib.errors import Conflict
from loancenter.refusals import check_caller, recording
from loancenter.rules import require_post


class ScorecardVersionSerializer(serializers.ModelSerializer):
    filed_by = serializers.CharField(source="filed_by.username", default=None, allow_null=True)
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True)
    in_use = serializers.BooleanField(read_only=True, help_text="loans were rated on it: kept as it is")

    class Meta:
        model = ScorecardVersion
        fields = ["id", "category", "number", "status", "base_points", "factors", "cutoffs", "note", "filed_by",
                  "filed_at", "decided_by", "decided_at", "in_use"]


class ScorecardInput(serializers.Serializer):
    category = serializers.ChoiceField(choices=list(CATEGORIES.items()))
    base_points = serializers.IntegerField(min_value=-10000, max_value=10000, default=0)
    factors = serializers.JSONField(help_text="factor → bands ({from, points}, ascending) and unknown/no_report points")
    cutoffs = serializers.JSONField(help_text="the lowest score of each rating A to D")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ScorecardRejectInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


def _read_only(version: ScorecardVersion) -> Conflict:
    return Conflict("scorecard_read_only", _("Scorecard %(card)s was filed and may not be edited; file a new "
                                             "version instead.") % {"card": version})


class ScorecardList(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="Scorecard versions (general, manager)", responses=ScorecardVersionSerializer(many=True))
    def get(self, request):
        require_post(request.user, *CARD_POSTS)
        versions = ScorecardVersion.objects.select_related("filed_by", "decided_by").order_by("category", "-number")
        return Response(ScorecardVersionSerializer(versions, many=True).data)

    @extend_schema(summary="File a new scorecard version (used once another person approves it)",
                   request=ScorecardInput, responses={201: ScorecardVersionSerializer})
    def post(self, request):
        check_caller(scorecard_file, request.user)
        parsed = ScorecardInput(data=request.data)
        parsed.is_valid(raise_exception=True)
        version = scorecard_file(actor=request.user, **parsed.validated_data)
        return Response(ScorecardVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class ScorecardDetail(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="One scorecard version", responses=ScorecardVersionSerializer)
    def get(self, request, pk: int):
        require_post(request.user, *CARD_POSTS)
        return Response(ScorecardVersionSerializer(get_object_or_404(ScorecardVersion, pk=pk)).data)

    def _refuse(self, request, pk: int):
        require_post(request.user, *CARD_POSTS)
        version = get_object_or_404(ScorecardVersion, pk=pk)
        with recording("scorecard_edit", actor=request.user, loan_id=None):
            raise _read_only(version)

    @extend_schema(summary="Refused: a filed version is read-only (409 scorecard_read_only)", request=None,
                   responses={409: None})
    def patch(self, request, pk: int):
        return self._refuse(request, pk)

    @extend_schema(exclude=True)
    def put(self, request, pk: int):
        return self._refuse(request, pk)

    @extend_schema(summary="Refused: a filed version is kept (409 scorecard_read_only)", responses={409: None})
    def delete(self, request, pk: int):
        return self._refuse(request, pk)


class ScorecardApprove(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="Approve a filed version: it is used from now on (another person than the filer)",
                   request=None, responses=ScorecardVersionSerializer)
    def post(self, request, pk: int):
        check_caller(scorecard_approve, request.user)
        get_object_or_404(ScorecardVersion, pk=pk)
        return Response(ScorecardVersionSerializer(scorecard_approve(version_id=pk, actor=request.user)).data)


class ScorecardReject(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="Reject a filed version (another person than the filer)", request=ScorecardRejectInput,
                   responses=ScorecardVersionSerializer)
    def post(self, request, pk: int):
        check_caller(scorecard_reject, request.user)
        get_object_or_404(ScorecardVersion, pk=pk)
        parsed = ScorecardRejectInput(data=request.data)
        parsed.is_valid(raise_exception=True)
        version = scorecard_reject(version_id=pk, actor=request.user, reason=parsed.validated_data["reason"])
        return Response(ScorecardVersionSerializer(version).data)
