"""The organisation through the API (SPEC §14): ``GET/POST /api/units/``, ``GET/POST /api/handovers/``,
``GET /api/handovers/{id}/``, ``POST /api/handovers/{id}/approve/`` and ``…/reject/``.

Thin views like ``loancenter.staff_apis``: the post checked before the input (SPEC §16.2), the input parsed, the
service called; refusals are ``DomainError`` mapped by ``loancenter.apis.exception_handler``.
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from loancenter import handovers, units
from loancenter.models import Handover, Unit, User
from loancenter.refusals import check_caller, recording
from loancenter.staff_apis import _parsed, _StaffRequestView


class UnitSerializer(serializers.ModelSerializer):
    active_staff = serializers.SerializerMethodField()

    class Meta:
        model = Unit
        fields = ["code", "name", "may_disburse", "is_center", "created_at", "active_staff"]

    def get_active_staff(self, unit) -> int | None:
        return getattr(unit, "staff_count", None)


class UnitInput(serializers.Serializer):
    code = serializers.CharField(max_length=16, help_text="capital letters, digits, - and _ (e.g. SUB-EAST)")
    name = serializers.CharField(max_length=60)
    may_disburse = serializers.BooleanField(required=False, default=False,
                                            help_text="the unit lends on its own authority (default: no)")


class UnitList(_StaffRequestView):
    @extend_schema(summary="The center and its sub-centers (every post)", responses=UnitSerializer(many=True))
    def get(self, request):
        items = Unit.objects.annotate(staff_count=Count("staff", filter=Q(staff__is_active=True)))
        return Response(UnitSerializer(items, many=True).data)

    @extend_schema(summary="Create a sub-center (manager, general)", request=UnitInput,
                   responses={201: UnitSerializer})
    def post(self, request):
        check_caller(units.unit_create, request.user)
        data = _parsed(UnitInput, request, action="unit_create")
        unit = units.unit_create(actor=request.user, **data)
        return Response(UnitSerializer(unit).data, status=status.HTTP_201_CREATED)


# --- hand-overs (岗位变动交接, SPEC §14, §16.27) ----------------------------------------------------------------------


class HandoverSerializer(serializers.ModelSerializer):
    from_user = serializers.CharField(source="from_user.username")
    to_user = serializers.CharField(source="to_user.username")
    filed_by = serializers.CharField(source="filed_by.username")
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True)
    sheet = serializers.SerializerMethodField(help_text="the printed hand-over sheet (PDF)")

    class Meta:
        model = Handover
        fields = ["id", "status", "from_user", "to_user", "reason", "items", "items_moved", "difference", "filed_by",
                  "filed_at", "decided_by", "decided_at", "decision_note", "sheet"]

    def get_sheet(self, handover) -> str:
        return reverse("handover-sheet", args=[handover.pk])


class HandoverInput(serializers.Serializer):
    from_user = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all(),
                                             help_text="the username of the person handing over")
    to_user = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all(),
                                           help_text="the username of the successor")
    reason = serializers.CharField(max_length=2000)


class HandoverDecisionInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


def _handovers():
    return Handover.objects.select_related("from_user", "to_user", "filed_by", "decided_by")


class HandoverList(_StaffRequestView):
    @extend_schema(summary="Hand-overs, newest first (general, manager)", responses=HandoverSerializer(many=True),
                   parameters=[OpenApiParameter("status", str, enum=Handover.Status.values)])
    def get(self, request):
        with recording("handover_list", actor=request.user):
            handovers.check_reader(actor=request.user)
        items = _handovers()
        if request.query_params.get("status") in Handover.Status.values:
            items = items.filter(status=request.query_params["status"])
        return Response(HandoverSerializer(items[:500], many=True).data)

    @extend_schema(summary="File a hand-over (general, manager): answers the list of what moves",
                   request=HandoverInput, responses={201: HandoverSerializer})
    def post(self, request):
        check_caller(handovers.handover_file, request.user)
        data = _parsed(HandoverInput, request, action="handover_file")
        handover = handovers.handover_file(actor=request.user, **data)
        return Response(HandoverSerializer(handover).data, status=status.HTTP_201_CREATED)


class HandoverDetail(_StaffRequestView):
    @extend_schema(summary="One hand-over; while pending, `items_now` and `difference` as they stand now",
                   responses=HandoverSerializer)
    def get(self, request, pk: int):
        with recording("handover_list", actor=request.user):
            handovers.check_reader(actor=request.user)
        handover = get_object_or_404(_handovers(), pk=pk)
        data = HandoverSerializer(handover).data
        if handover.is_pending:
            preview = handovers.handover_preview(handover)
            data["items_now"], data["difference"] = preview["items"], preview["difference"]
        return Response(data)


def _handover_decision(service, summary: str):
    class View(_StaffRequestView):
        @extend_schema(summary=summary, request=HandoverDecisionInput, responses=HandoverSerializer)
        def post(self, request, pk: int):
            check_caller(service, request.user)
            handover = get_object_or_404(Handover, pk=pk)
            data = _parsed(HandoverDecisionInput, request, action=service.action)
            return Response(HandoverSerializer(service(actor=request.user, handover_id=handover.pk, **data)).data)

    View.__name__ = f"{service.__name__}_view"
    return View


HandoverApprove = _handover_decision(handovers.handover_approve,
                                     "Approve a hand-over (a manager neither the filer nor a party): the list is "
                                     "computed again and everything on it moves now")
HandoverReject = _handover_decision(handovers.handover_reject, "Reject a hand-over with a note (a manager)")
