"""REST API for a loan's repayment schedule and repayments (SPEC §9).

Thin views: ``access_loan`` for scope (404 outside it), the service, a serializer to answer. Refusals are
``DomainError`` from ``postloan.services`` and are mapped once by ``loancenter.apis.exception_handler``.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from applications.apis import REFUSALS
from applications.selectors import access_loan
from loancenter.apis import ErrorSerializer, HasPost
from loancenter.refusals import check_caller
from postloan.models import Repayment
from postloan.selectors import schedule_as_of_book
from postloan.serializers import InstallmentSerializer, RepaymentInput, RepaymentSerializer
from postloan.services import repayment_post


class LoanSchedule(APIView):
    permission_classes = [HasPost]

    @extend_schema(
        operation_id="loans_schedule",
        summary="The loan's repayment schedule (empty before disbursement)",
        tags=["loans"],
        responses={200: InstallmentSerializer(many=True), 404: REFUSALS[404]},
    )
    def get(self, request, pk: int):
        loan = access_loan(request.user, pk)
        rows = schedule_as_of_book(loan)
        return Response(InstallmentSerializer(rows, many=True).data)


class LoanRepayments(APIView):
    permission_classes = [HasPost]

    @extend_schema(
        operation_id="loans_repayments_list",
        summary="The loan's repayments with their allocations, oldest first",
        tags=["loans"],
        responses={200: RepaymentSerializer(many=True), 404: REFUSALS[404]},
    )
    def get(self, request, pk: int):
        loan = access_loan(request.user, pk)
        rows = Repayment.objects.filter(loan=loan).select_related("posted_by").order_by("paid_on", "id")
        return Response(RepaymentSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="loans_repayments_create",
        summary="Post a repayment (general, disbursement; also the core-banking feed)",
        description=(
            "Allocates the amount penalty → interest → principal, oldest installment first. "
            "201 with the allocation when the payment is applied; 200 with the same body when the `reference` "
            "was already applied to this loan (nothing is applied again). 400 `amount` (zero, negative, more than "
            "two decimals), `overpayment` (more than everything owed), `paid_on` (in the future) or field errors; "
            "403 `post_required`; 404 outside your data scope; 409 `reference_reused` (the reference belongs to "
            "another loan) or `invalid_state` (the loan is not active). A refusal writes nothing."
        ),
        tags=["loans"],
        request=RepaymentInput,
        responses={
            201: RepaymentSerializer,
            200: OpenApiResponse(RepaymentSerializer, description="The reference was already applied: the first result"),
            **REFUSALS,
            409: OpenApiResponse(ErrorSerializer, description="reference_reused, invalid_state"),
        },
    )
    def post(self, request, pk: int):
        loan = access_loan(request.user, pk, action="repayment")
        check_caller(repayment_post, request.user, loan_id=loan.pk)  # the post before the input (SPEC §16.2)
        parsed = RepaymentInput(data=request.data)
        parsed.is_valid(raise_exception=True)
        repayment, created = repayment_post(loan_id=loan.pk, actor=request.user, **parsed.validated_data)
        return Response(RepaymentSerializer(repayment).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
