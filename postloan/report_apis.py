"""``GET /api/reports/portfolio/?as_of=YYYY-MM-DD``: the manager dashboard's figures (issue 6)."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from loancenter import posts as P
from loancenter.lib.errors import Forbidden, RuleViolation
from postloan.reports import portfolio

MONEY = {"max_digits": 18, "decimal_places": 2}
RATIO = {"max_digits": 9, "decimal_places": 6, "allow_null": True}


class PeriodSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    amount = serializers.DecimalField(**MONEY)


class DisbursedSerializer(serializers.Serializer):
    day = PeriodSerializer()
    month = PeriodSerializer()
    year = PeriodSerializer()


class GradeSerializer(serializers.Serializer):
    grade = serializers.CharField()
    loans = serializers.IntegerField()
    balance = serializers.DecimalField(**MONEY)
    provision = serializers.DecimalField(**MONEY)


class TierSerializer(serializers.Serializer):
    tier = serializers.CharField(help_text="'' for current loans, T1, T2, T3")
    loans = serializers.IntegerField()
    balance = serializers.DecimalField(**MONEY)


class BatchSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    status = serializers.CharField()
    progress = serializers.IntegerField()
    loans = serializers.IntegerField()
    seconds = serializers.FloatField(allow_null=True)


class PortfolioSerializer(serializers.Serializer):
    as_of = serializers.DateField(allow_null=True, help_text="the snapshot day the figures are read from")
    disbursed = DisbursedSerializer()
    outstanding_balance = serializers.DecimalField(**MONEY)
    active_loans = serializers.IntegerField()
    borrowers = serializers.IntegerField()
    decided = serializers.IntegerField()
    approved = serializers.IntegerField()
    rejected = serializers.IntegerField()
    approval_rate = serializers.DecimalField(**RATIO)
    rejection_rate = serializers.DecimalField(**RATIO)
    overdue_balance = serializers.DecimalField(**MONEY)
    overdue_rate = serializers.DecimalField(**RATIO, help_text="overdue balance / balance")
    npl_balance = serializers.DecimalField(**MONEY)
    npl_rate = serializers.DecimalField(**RATIO, help_text="(substandard + doubtful + loss) balance / balance")
    provision_total = serializers.DecimalField(**MONEY)
    written_off_balance = serializers.DecimalField(**MONEY)
    by_grade = GradeSerializer(many=True)
    by_tier = TierSerializer(many=True)
    batch = BatchSerializer(allow_null=True)


class PortfolioView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("as_of", OpenApiTypes.DATE, description="default: the latest snapshot")],
        responses={200: PortfolioSerializer},
    )
    def get(self, request):
        if not (request.user.is_superuser or request.user.has_post(P.MANAGER)):
            raise Forbidden("post_required", _("This action needs the post: %(posts)s.") % {"posts": P.POST_LABELS[P.MANAGER]})
        raw = request.query_params.get("as_of")
        try:
            as_of = date.fromisoformat(raw) if raw else None
        except ValueError:
            raise RuleViolation("as_of", _("as_of must be a date YYYY-MM-DD."), field="as_of") from None
        figures = portfolio(as_of)
        data = {name: getattr(figures, name) for name in PortfolioSerializer().fields}
        return Response(PortfolioSerializer(data).data)
