"""REST API of post-loan monitoring (SPEC §14, §16.18–23): checks, signals, credit queries, the outbox, fund use.

Thin views: the scope first (404 outside it), the caller's post (403), then the input, then the service.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from applications.models import Product
from applications.selectors import access_customer, access_loan, loans_visible_to
from loancenter import posts as P
from loancenter.apis import HasPost
from loancenter.refusals import check_caller
from loancenter.rules import require_post
from postloan import bureau, checks, signals
from postloan.monitoring_models import CheckPlan, CreditQuery, FundUseProof, Notice, PostLoanCheck, Signal


class CheckSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", default=None, allow_null=True)
    completed_by = serializers.CharField(source="completed_by.username", default=None, allow_null=True)
    signed_off_by = serializers.CharField(source="signed_off_by.username", default=None, allow_null=True)

    class Meta:
        model = PostLoanCheck
        fields = ["id", "loan", "kind", "due_on", "owner", "owner_post", "status", "conclusion", "findings",
                  "borrower_situation", "completed_by", "completed_at", "needs_signoff", "signed_off_by",
                  "signed_off_at", "signal", "credit_queries"]


class SignalSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", default=None, allow_null=True)
    raised_by = serializers.CharField(source="raised_by.username", default=None, allow_null=True)
    closed_by = serializers.CharField(source="closed_by.username", default=None, allow_null=True)
    name = serializers.SerializerMethodField()
    action = serializers.SerializerMethodField()

    class Meta:
        model = Signal
        fields = ["id", "loan", "code", "name", "level", "source", "raised_on", "raised_by", "owner", "owner_post",
                  "deadline", "action", "note", "status", "closed_by", "closed_at", "close_reason"]

    def get_name(self, obj) -> str:
        return signals.name_of(obj.code)

    def get_action(self, obj) -> str:
        return signals.action_of(obj.code)


class CreditQuerySerializer(serializers.ModelSerializer):
    queried_by = serializers.CharField(source="queried_by.username")
    report_document_url = serializers.SerializerMethodField(
        help_text="Where the report file is read (GET, scope-checked); null when no file is attached.")

    class Meta:
        model = CreditQuery
        fields = ["id", "customer", "loan", "purpose", "authorisation_document", "authorisation_legacy", "queried_by",
                  "queried_at", "summary", "overdue_count_24m", "worst_dpd", "queries_6m", "new_debt", "report_document",
                  "report_document_url", "report_legacy", "investigations", "checks"]
        read_only_fields = ["investigations", "checks"]

    def get_report_document_url(self, obj) -> str | None:
        return reverse("api-document-file", args=[obj.report_document_id]) if obj.report_document_id else None


class NoticeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notice
        fields = ["id", "loan", "kind", "channel", "due_date", "amount", "scheduled_for", "sent_at", "status", "attempts",
                  "answer"]


class ProofSerializer(serializers.ModelSerializer):
    class Meta:
        model = FundUseProof
        fields = ["id", "loan", "amount", "description", "document", "recorded_at"]


class CompleteInput(serializers.Serializer):
    findings = serializers.CharField(max_length=10_000, allow_blank=True)
    conclusion = serializers.CharField(max_length=16, allow_blank=True)
    borrower_situation = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    signal_code = serializers.CharField(max_length=32, required=False, allow_blank=True)
    signal_note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    prohibited_use = serializers.CharField(max_length=32, required=False, allow_blank=True)
    evidence = serializers.CharField(max_length=200, required=False, allow_blank=True)
    counterparty_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    counterparty_account = serializers.CharField(max_length=34, required=False, allow_blank=True)
    counterparty_bank = serializers.CharField(max_length=100, required=False, allow_blank=True)
    pays_for = serializers.CharField(max_length=200, required=False, allow_blank=True)
    credit_queries = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=50)

    def to_service(self) -> dict:
        data = dict(self.validated_data)
        counterparty = {k: data.pop(k) for k in ("counterparty_name", "counterparty_account", "counterparty_bank",
                                                   "pays_for") if k in data}
        data["counterparty"] = counterparty
        data["credit_query_ids"] = data.pop("credit_queries", [])
        return data


class SignalInput(serializers.Serializer):
    code = serializers.CharField(max_length=32)
    level = serializers.CharField(max_length=8, required=False, allow_blank=True)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class SignalCloseInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, allow_blank=True)


class CreditQueryInput(serializers.Serializer):
    purpose = serializers.CharField(max_length=16)
    # The id of the customer's current credit-report authorisation file (GET /api/customers/{id}/documents/, code
    # credit_authorization). Read as text so that whatever else is sent is refused as no_authorisation by the rule.
    authorisation_document = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    summary = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    loan = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**63 - 1)
    overdue_count_24m = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=100_000)
    worst_dpd = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=36_600)
    queries_6m = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=100_000)
    new_debt = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True, min_value=0)
    # Optional: the id of the customer's current credit report file (GET /api/customers/{id}/documents/, code
    # credit_report). Read as text so that whatever else is sent is refused as bad_report_document by the rule.
    report_document = serializers.CharField(required=False, allow_blank=True, allow_null=True)

    def to_service(self) -> dict:
        data = dict(self.validated_data)
        data["loan_id"] = data.pop("loan", None)
        data["authorisation_document"] = data.get("authorisation_document") or ""
        data["report_document"] = data.get("report_document") or ""
        return data


class ProofInput(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    description = serializers.CharField(max_length=200, allow_blank=True)
    document = serializers.CharField(max_length=100, required=False, allow_blank=True)


def _parsed(input_cls, request) -> dict:
    parsed = input_cls(data=request.data)
    parsed.is_valid(raise_exception=True)
    return parsed.to_service() if hasattr(parsed, "to_service") else dict(parsed.validated_data)


def _scoped(model, request, pk, service):
    obj = get_object_or_404(model, pk=pk)
    access_loan(request.user, obj.loan_id, action=service.action)
    check_caller(service, request.user, loan_id=obj.loan_id)
    return obj


class LoanChecks(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="A loan's post-loan checks", responses=CheckSerializer(many=True))
    def get(self, request, pk: int):
        loan = access_loan(request.user, pk)
        return Response(CheckSerializer(loan.checks.select_related("owner", "completed_by", "signed_off_by")
                                        .prefetch_related("credit_queries"), many=True).data)


class CheckComplete(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="Complete a check: findings and conclusion (normal / concern / signal)", request=CompleteInput,
                   responses=CheckSerializer)
    def post(self, request, pk: int):
        check = _scoped(PostLoanCheck, request, pk, checks.check_complete)
        check = checks.check_complete(check_id=check.pk, actor=request.user, **_parsed(CompleteInput, request))
        return Response(CheckSerializer(check).data)


class SignOffInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class CheckSignOff(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="A reviewer signs off a business loan's completed check", request=SignOffInput,
                   responses=CheckSerializer)
    def post(self, request, pk: int):
        check = _scoped(PostLoanCheck, request, pk, checks.check_sign_off)
        check = checks.check_sign_off(check_id=check.pk, actor=request.user, note=str(request.data.get("note", ""))[:2000])
        return Response(CheckSerializer(check).data)


class LoanSignals(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="A loan's early-warning signals", responses=SignalSerializer(many=True))
    def get(self, request, pk: int):
        loan = access_loan(request.user, pk)
        return Response(SignalSerializer(loan.signals.select_related("owner", "raised_by", "closed_by"), many=True).data)

    @extend_schema(summary="Raise a signal by hand", request=SignalInput, responses={201: SignalSerializer})
    def post(self, request, pk: int):
        loan = access_loan(request.user, pk, action=signals.signal_raise.action)
        check_caller(signals.signal_raise, request.user, loan_id=loan.pk)
        data = _parsed(SignalInput, request)
        signal = signals.signal_raise(loan_id=loan.pk, actor=request.user, code=data["code"],
                                      level=data.get("level") or None, note=data.get("note", ""))
        return Response(SignalSerializer(signal).data, status=status.HTTP_201_CREATED)


class SignalClose(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="Close a signal with a reason (a red one: not by whoever raised it)", request=SignalCloseInput,
                   responses=SignalSerializer)
    def post(self, request, pk: int):
        signal = _scoped(Signal, request, pk, signals.signal_close)
        signal = signals.signal_close(signal_id=signal.pk, actor=request.user, **_parsed(SignalCloseInput, request))
        return Response(SignalSerializer(signal).data)


class SignalCounts(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="Open signals counted by level, product, officer or code (manager, general)",
                   responses=inline_serializer("SignalCounts", {"by": serializers.CharField(),
                                                                "counts": serializers.JSONField()}))
    def get(self, request):
        require_post(request.user, P.MANAGER, P.GENERAL)
        by = request.query_params.get("by", "level")
        if by not in ("level", "product", "officer", "code"):
            by = "level"
        return Response({"by": by, "counts": signals.open_counts(by=by)})


class CustomerCreditQueries(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="A customer's credit-bureau queries", responses=CreditQuerySerializer(many=True))
    def get(self, request, pk: int):
        customer = access_customer(request.user, pk)
        return Response(CreditQuerySerializer(customer.credit_queries.select_related("queried_by"), many=True).data)

    @extend_schema(summary="Record a credit-bureau query (needs the written authorisation)", request=CreditQueryInput,
                   responses={201: CreditQuerySerializer})
    def post(self, request, pk: int):
        customer = access_customer(request.user, pk)
        check_caller(bureau.credit_query_record, request.user)
        query = bureau.credit_query_record(customer_id=customer.pk, actor=request.user,
                                           **_parsed(CreditQueryInput, request))
        return Response(CreditQuerySerializer(query).data, status=status.HTTP_201_CREATED)


class NoticeList(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="The outbox: queued, sent and failed notices (?loan=id)", responses=NoticeSerializer(many=True))
    def get(self, request):
        loan_id = request.query_params.get("loan")
        if loan_id is not None:
            if not loan_id.isascii() or not loan_id.isdigit() or len(loan_id) > 18:
                raise Http404
            loan = access_loan(request.user, int(loan_id))
            rows = Notice.objects.filter(loan=loan)
        else:
            rows = Notice.objects.filter(loan__in=loans_visible_to(request.user))
        return Response(NoticeSerializer(rows.order_by("-scheduled_for", "-id")[:500], many=True).data)


class LoanProofs(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="A loan's proofs of use", responses=ProofSerializer(many=True))
    def get(self, request, pk: int):
        loan = access_loan(request.user, pk)
        return Response(ProofSerializer(loan.fund_use_proofs.all(), many=True).data)

    @extend_schema(summary="Record a proof of use (self payment)", request=ProofInput, responses={201: ProofSerializer})
    def post(self, request, pk: int):
        loan = access_loan(request.user, pk, action=checks.fund_use_proof_add.action)
        check_caller(checks.fund_use_proof_add, request.user, loan_id=loan.pk)
        proof = checks.fund_use_proof_add(loan_id=loan.pk, actor=request.user, **_parsed(ProofInput, request))
        return Response(ProofSerializer(proof).data, status=status.HTTP_201_CREATED)


class PlanInput(serializers.Serializer):
    fund_use_days = serializers.IntegerField()
    routine_months = serializers.IntegerField()


class PlanSerializer(PlanInput):
    product = serializers.IntegerField()
    default = serializers.BooleanField()


class ProductCheckPlan(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="A product's post-loan check plan (the SPEC §12 defaults unless set)",
                   responses=PlanSerializer)
    def get(self, request, pk: int):
        product = get_object_or_404(Product, pk=pk)
        days, months = checks.plan_for(product)
        return Response({"product": product.pk, "fund_use_days": days, "routine_months": months,
                         "default": not CheckPlan.objects.filter(product=product).exists()})

    @extend_schema(summary="Set a product's check plan (general, manager)", request=PlanInput, responses=PlanSerializer)
    def put(self, request, pk: int):
        product = get_object_or_404(Product, pk=pk)
        check_caller(checks.check_plan_set, request.user)
        plan = checks.check_plan_set(actor=request.user, product_id=product.pk, **_parsed(PlanInput, request))
        return Response({"product": product.pk, "fund_use_days": plan.fund_use_days,
                         "routine_months": plan.routine_months, "default": False})
