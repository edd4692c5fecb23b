"""The organisation through the API (SPEC §14): ``GET/POST /api/units/``.

Thin views like ``loancenter.staff_apis``: the post checked before the input (SPEC §16.2), the input parsed, the
service called; refusals are ``DomainError`` mapped by ``loancenter.apis.exception_handler``.
"""

from __future__ import annotations

from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from loancenter import units
from loancenter.models import Unit
from loancenter.refusals import check_caller
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
