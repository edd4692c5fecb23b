"""``GET /api/reports/portfolio/?as_of=YYYY-MM-DD``: the manager dashboard's figures (issue 6)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from loancenter import posts as P
from loancenter.lib import params
from loancenter.lib.errors import Forbidden, RuleViolation
from postloan.reports import PERIOD_DAYS, portfolio
from postloan.warnings import evaluate

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


class QueueSerializer(serializers.Serializer):
    status = serializers.CharField()
    loans = serializers.IntegerField()
    oldest_since = serializers.DateTimeField(allow_null=True, help_text="when the longest-waiting loan entered the state")
    oldest_hours = serializers.FloatField(allow_null=True, help_text="how long it has waited, in hours")


class TurnaroundSerializer(serializers.Serializer):
    stage = serializers.CharField(help_text="the state the loans left")
    median_hours = serializers.FloatField(help_text="median hours between entering and leaving the state")
    transitions = serializers.IntegerField(help_text="transitions out of the state in the period")


class WarningSerializer(serializers.Serializer):
    figure = serializers.CharField()
    value = serializers.DecimalField(**RATIO)
    direction = serializers.CharField(allow_null=True, help_text="above or below; null when no level is set")
    threshold = serializers.DecimalField(**RATIO)
    breached = serializers.BooleanField()


class TrendSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    balance = serializers.DecimalField(**MONEY)
    overdue_rate = serializers.DecimalField(**RATIO)
    npl_rate = serializers.DecimalField(**RATIO)


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
    period_start = serializers.DateField(allow_null=True, help_text="first day of the period figures (to as_of)")
    period_days = serializers.IntegerField()
    pipeline = QueueSerializer(many=True, help_text="loans per waiting state, with the oldest one's wait")
    turnaround = TurnaroundSerializer(many=True, help_text="stage turnaround times over the period")
    interest_due = serializers.DecimalField(**MONEY, help_text="interest of the installments due in the period")
    interest_received = serializers.DecimalField(**MONEY, help_text="interest paid on those installments")
    interest_collection_rate = serializers.DecimalField(**RATIO, help_text="收息率: interest_received / interest_due")
    t3_balance = serializers.DecimalField(**MONEY, help_text="balance of active loans in collection tier T3")
    recoveries = serializers.DecimalField(**MONEY, help_text="recoveries on written-off loans in the period")
    recovery_repayments = serializers.DecimalField(
        **MONEY, help_text="repayments in the period on loans written off or in tier T3")
    recovery_rate = serializers.DecimalField(
        **RATIO, help_text="回收率: (recoveries + recovery_repayments) / (written_off_balance + t3_balance)")
    bad_debt_rate = serializers.DecimalField(
        **RATIO, help_text="坏账率: written_off_balance / (outstanding_balance + written_off_balance)")
    trend = TrendSerializer(many=True, help_text="the active book on each snapshot day of the last 90 days")
    warnings = WarningSerializer(many=True, help_text="each risk figure against its current warning level")


class PortfolioView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("as_of", OpenApiTypes.DATE,
                                     description="default: the latest snapshot; 2000-01-01 to today, else 400"),
                    OpenApiParameter("period", OpenApiTypes.INT,
                                     description="days of the period figures (default 30); 1 to 3660, else 400")],
        responses={200: PortfolioSerializer},
    )
    def get(self, request):
        """Every figure of the manager's dashboard; formulas in docs/decisions.md ("Dashboard figures")."""
        if not request.user.has_post(P.MANAGER):
            raise Forbidden("post_required", _("This action needs the post: %(posts)s.") % {"posts": P.POST_LABELS[P.MANAGER]})
        try:
            as_of = params.parse_as_of(request.query_params.get("as_of"))
        except ValueError as error:
            raise RuleViolation("as_of", str(error), field="as_of") from None
        try:
            period = params.parse_int(request.query_params.get("period"), low=1, high=params.MAX_PERIOD_DAYS,
                                      default=PERIOD_DAYS)
        except ValueError as error:
            raise RuleViolation("period", str(error), field="period") from None
        figures = portfolio(as_of, period)
        data = {name: getattr(figures, name) for name in PortfolioSerializer().fields if name != "warnings"}
        data["warnings"] = [
            {"figure": w.figure, "value": w.value, "direction": w.level.direction if w.level else None,
             "threshold": w.level.threshold if w.level else None, "breached": w.breached}
            for w in evaluate(figures)
        ]
        return Response(PortfolioSerializer(data).data)
