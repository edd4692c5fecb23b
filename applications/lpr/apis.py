"""``GET/POST /api/lpr/`` and ``POST /api/lpr/{id}/confirm/`` (``…/reject/``): the LPR register (SPEC §15, §16.32).

Thin views: the caller's post first (SPEC §16.2), then the input, then the service; refusals are ``DomainError``
(mapped by ``loancenter.apis.exception_handler``) and recorded by the services.
"""

from __future__ import annotations

from decimal import Decimal

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from applications.lpr import services
from applications.lpr.models import LPR_RATE, LprPublication
from applications.lpr.selectors import lpr_history, lpr_in_force
from loancenter.apis import HasPost
from loancenter.lib.dates import today
from loancenter.refusals import check_caller

LIST_LIMIT = 500


class RateField(serializers.DecimalField):
    """A rate as a plain decimal string without trailing zeros, ``"0.0345"`` (SPEC §9), as the loans' rates are
    shown (``applications.serializers.RateField``; not imported: applications.models imports this package)."""

    def to_representation(self, value):
        text = format(Decimal(value).normalize(), "f")
        return text if "." in text else f"{text}.0"


class LprSerializer(serializers.ModelSerializer):
    lpr_1y = RateField(**LPR_RATE)
    lpr_5y = RateField(**LPR_RATE)
    filed_by = serializers.CharField(source="filed_by.username")
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True)
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = LprPublication
        fields = ["id", "published_on", "lpr_1y", "lpr_5y", "status", "filed_by", "filed_at", "decided_by",
                  "decided_at", "note", "in_force"]

    def get_in_force(self, obj) -> bool:
        return obj.pk == self.context.get("in_force_id")


class LprInput(serializers.Serializer):
    published_on = serializers.DateField()
    lpr_1y = serializers.DecimalField(**LPR_RATE, help_text="the 1-year LPR as a fraction (0.0310 for 3.10 %)")
    lpr_5y = serializers.DecimalField(**LPR_RATE, help_text="the 5-year-plus LPR as a fraction")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


def _context() -> dict:
    current = lpr_in_force(today())
    return {"in_force_id": current.pk if current else None}


class LprList(APIView):
    permission_classes = [HasPost]

    @extend_schema(responses=LprSerializer(many=True), summary="The LPR publications, newest first (the history)")
    def get(self, request):
        return Response(LprSerializer(lpr_history()[:LIST_LIMIT], many=True, context=_context()).data)

    @extend_schema(request=LprInput, responses={201: LprSerializer},
                   summary="Record a publication: pending until another general or manager confirms it")
    def post(self, request):
        check_caller(services.lpr_file, request.user)
        form = LprInput(data=request.data)
        form.is_valid(raise_exception=True)
        publication = services.lpr_file(actor=request.user, **form.validated_data)
        return Response(LprSerializer(publication, context=_context()).data, status=status.HTTP_201_CREATED)


class LprDetail(APIView):
    permission_classes = [HasPost]

    @extend_schema(responses=LprSerializer)
    def get(self, request, pk: int):
        return Response(LprSerializer(get_object_or_404(LprPublication, pk=pk), context=_context()).data)


def _decision(service, summary: str):
    class Decide(APIView):
        permission_classes = [HasPost]

        @extend_schema(request=None, responses=LprSerializer, summary=summary)
        def post(self, request, pk: int):
            check_caller(service, request.user)
            publication = get_object_or_404(LprPublication, pk=pk)
            publication = service(publication_id=publication.pk, actor=request.user)
            return Response(LprSerializer(publication, context=_context()).data)

    Decide.__name__ = f"Lpr{service.__name__.title().replace('_', '')}"
    return Decide


LprConfirm = _decision(services.lpr_confirm, "Confirm a publication filed by someone else: it takes effect")
LprReject = _decision(services.lpr_reject, "Reject a publication filed by someone else (a typo): it never takes effect")
