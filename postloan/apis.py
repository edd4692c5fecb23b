"""REST API after disbursement: collection cases and actions, agencies, servicing requests, write-offs, grade changes.

Thin views: scope through ``access_loan`` (404 outside it), the inputs of ``postloan.forms``, the service; refusals
are ``DomainError`` and mapped once by ``loancenter.apis.exception_handler``.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from applications.models import Collateral
from applications.selectors import access_loan
from loancenter.apis import HasPost
from loancenter.lib import versioning
from loancenter.refusals import check_caller
from postloan import agencies, collections, forms, grades, servicing, write_off
from postloan import collateral as collateral_ops
from postloan.models import (
    AgencyAssignment,
    CollateralRevaluation,
    CollectionAction,
    CollectionAgency,
    CollectionCase,
    DebtorAssessment,
    EscalationTask,
    GradeChange,
    ServicingRequest,
    WriteOff,
    WriteOffRecovery,
)

# ---------------------------------------------------------------------------------------------------------------
# Output


class ActionSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username")

    class Meta:
        model = CollectionAction
        fields = ["id", "case", "loan", "actor", "channel", "contacted_at", "target", "guarantor", "agency", "phone",
                  "answered", "result", "promise_date", "promise_amount"]


class TaskSerializer(serializers.ModelSerializer):
    done_by = serializers.CharField(source="done_by.username", default=None, allow_null=True)

    class Meta:
        model = EscalationTask
        fields = ["id", "case", "loan", "kind", "created_on", "done_on", "done_by", "note"]


class CaseSerializer(serializers.ModelSerializer):
    days_past_due = serializers.IntegerField(source="loan.days_past_due")
    amount_overdue = serializers.DecimalField(max_digits=14, decimal_places=2, default=None, allow_null=True)
    last_action_at = serializers.DateTimeField(default=None, allow_null=True)
    tasks = TaskSerializer(many=True)

    class Meta:
        model = CollectionCase
        fields = ["id", "loan", "tier", "owner_post", "owner", "opened_on", "closed_on", "days_past_due", "amount_overdue",
                  "last_action_at", "tasks"]


class AgencySerializer(serializers.ModelSerializer):
    class Meta:
        model = CollectionAgency
        fields = ["id", "name", "licence_no", "phone", "active"]


class ServicingSerializer(serializers.ModelSerializer):
    filed_by = serializers.CharField(source="filed_by.username")
    reviewed_by = serializers.CharField(source="reviewed_by.username", default=None, allow_null=True)
    executed_by = serializers.CharField(source="executed_by.username", default=None, allow_null=True)

    class Meta:
        model = ServicingRequest
        fields = ["id", "loan", "kind", "status", "filed_by", "filed_at", "reason", "amount", "paid_on", "reference",
                  "extension_months", "guarantor_consent", "plan_months", "plan_method", "new_value", "old_value", "reviewed_by", "reviewed_at",
                  "review_note", "executed_by", "executed_at", "result", "version"]


class WriteOffSerializer(serializers.ModelSerializer):
    proposed_by = serializers.CharField(source="proposed_by.username")
    reviewed_by = serializers.CharField(source="reviewed_by.username", default=None, allow_null=True)
    approved_by = serializers.CharField(source="approved_by.username", default=None, allow_null=True)

    class Meta:
        model = WriteOff
        fields = ["id", "loan", "status", "reason", "legal_documents", "principal", "interest", "penalty", "proposed_by",
                  "proposed_at", "reviewed_by", "reviewed_at", "approved_by", "approved_at", "written_off_on", "version"]


class RecoverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WriteOffRecovery
        fields = ["id", "loan", "write_off", "amount", "recovered_on", "reference", "note"]


class GradeChangeSerializer(serializers.ModelSerializer):
    proposed_by = serializers.CharField(source="proposed_by.username")
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True)

    class Meta:
        model = GradeChange
        fields = ["id", "loan", "from_grade", "to_grade", "reasons", "status", "proposed_by", "proposed_at", "decided_by",
                  "decided_at", "decision_note", "version"]


def _parsed(input_cls, request) -> dict:
    parsed = input_cls(data=request.data)
    parsed.is_valid(raise_exception=True)
    return parsed.to_service() if hasattr(parsed, "to_service") else dict(parsed.validated_data)


def _scoped(model, request, pk, service=None):
    """The object if its loan is in the caller's scope (404, recorded, otherwise); with ``service``: and the caller
    holds one of its posts (403) — both before the input is looked at (SPEC §16.2)."""
    obj = get_object_or_404(model, pk=pk)
    access_loan(request.user, obj.loan_id, action=service.action if service else "view")
    if service is not None:
        check_caller(service, request.user, loan_id=obj.loan_id)
    return obj


def _loan(request, pk, service):
    loan = access_loan(request.user, pk, action=service.action)
    check_caller(service, request.user, loan_id=loan.pk)
    return loan


# ---------------------------------------------------------------------------------------------------------------
# Collections


class CaseList(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="My collection queue (marketing: own T1; general: T2/T3 with tasks)", responses=CaseSerializer(many=True))
    def get(self, request):
        return Response(CaseSerializer(collections.collection_queue(request.user)[:500], many=True).data)


class CaseActions(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="A case's logged actions", responses=ActionSerializer(many=True))
    def get(self, request, pk: int):
        case = _scoped(CollectionCase, request, pk)
        return Response(ActionSerializer(case.actions.select_related("actor"), many=True).data)

    @extend_schema(summary="Log a collection action (compliance rules apply)", request=forms.CollectionActionInput,
                   responses={201: ActionSerializer})
    def post(self, request, pk: int):
        case = _scoped(CollectionCase, request, pk, collections.collection_action_log)
        action = collections.collection_action_log(case_id=case.pk, actor=request.user, **_parsed(forms.CollectionActionInput,
                                                                                                   request))
        return Response(ActionSerializer(action).data, status=status.HTTP_201_CREATED)


class TaskDone(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="Mark an escalation task done (general)", request=forms.NoteInput, responses=TaskSerializer)
    def post(self, request, pk: int):
        task = _scoped(EscalationTask, request, pk, collections.escalation_task_done)
        task = collections.escalation_task_done(task_id=task.pk, actor=request.user, **_parsed(forms.NoteInput, request))
        return Response(TaskSerializer(task).data)


class AgencyList(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="The whitelist of collection agencies", responses=AgencySerializer(many=True))
    def get(self, request):
        return Response(AgencySerializer(CollectionAgency.objects.all(), many=True).data)

    @extend_schema(summary="Add an agency (general, manager)", request=forms.AgencyInput, responses={201: AgencySerializer})
    def post(self, request):
        check_caller(collections.agency_save, request.user)
        agency = collections.agency_save(actor=request.user, **_parsed(forms.AgencyInput, request))
        return Response(AgencySerializer(agency).data, status=status.HTTP_201_CREATED)


class AssignmentSerializer(serializers.ModelSerializer):
    agency_name = serializers.CharField(source="agency.name")
    assigned_by = serializers.CharField(source="assigned_by.username")
    recalled_by = serializers.CharField(source="recalled_by.username", default=None, allow_null=True)
    recovered = serializers.SerializerMethodField()

    class Meta:
        model = AgencyAssignment
        fields = ["id", "case", "loan", "agency", "agency_name", "assigned_on", "until", "assigned_by",
                  "overdue_at_assignment", "principal_at_assignment", "note", "recalled_on", "recalled_by",
                  "recall_reason", "recovered"]

    def get_recovered(self, obj) -> str:
        return f"{agencies.recovered_by(obj):.2f}"


class AssessmentSerializer(serializers.ModelSerializer):
    assessed_by = serializers.CharField(source="assessed_by.username")

    class Meta:
        model = DebtorAssessment
        fields = ["id", "case", "loan", "stance", "evidence", "note", "assessed_by", "assessed_on"]


class RevaluationSerializer(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.username")

    class Meta:
        model = CollateralRevaluation
        fields = ["id", "collateral", "loan", "valued_on", "value", "valuer", "document", "ltv", "max_ltv", "signal",
                  "recorded_by", "recorded_at"]


class CollateralRevaluations(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="A collateral's revaluations", responses=RevaluationSerializer(many=True))
    def get(self, request, pk: int):
        collateral = _scoped(Collateral, request, pk)
        return Response(RevaluationSerializer(collateral.revaluations.select_related("recorded_by"), many=True).data)

    @extend_schema(summary="Record a revaluation (value, date, valuer, the valuation report's file id); above the "
                           "product's LTV limit it raises the collateral_value_drop signal",
                   request=forms.RevaluationInput, responses={201: RevaluationSerializer})
    def post(self, request, pk: int):
        collateral = _scoped(Collateral, request, pk, collateral_ops.collateral_revalue)
        item = collateral_ops.collateral_revalue(collateral_id=collateral.pk, actor=request.user,
                                                 **_parsed(forms.RevaluationInput, request))
        return Response(RevaluationSerializer(item).data, status=status.HTTP_201_CREATED)


class CaseAssignments(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="A case's agency assignments, with each one's recoveries", responses=AssignmentSerializer(many=True))
    def get(self, request, pk: int):
        case = _scoped(CollectionCase, request, pk)
        return Response(AssignmentSerializer(case.assignments.select_related("agency", "assigned_by", "recalled_by"),
                                             many=True).data)

    @extend_schema(summary="Assign the case to a whitelisted agency (the case's collector)", request=forms.AssignmentInput,
                   responses={201: AssignmentSerializer})
    def post(self, request, pk: int):
        case = _scoped(CollectionCase, request, pk, agencies.agency_assign)
        item = agencies.agency_assign(case_id=case.pk, actor=request.user, **_parsed(forms.AssignmentInput, request))
        return Response(AssignmentSerializer(item).data, status=status.HTTP_201_CREATED)


class AssignmentRecall(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="Recall a case from its agency", request=forms.RecallInput, responses=AssignmentSerializer)
    def post(self, request, pk: int):
        item = _scoped(AgencyAssignment, request, pk, agencies.agency_recall)
        item = agencies.agency_recall(assignment_id=item.pk, actor=request.user, **_parsed(forms.RecallInput, request))
        return Response(AssignmentSerializer(item).data)


class CaseAssessments(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="The debtor's stance on a case (cannot pay / will not pay)", responses=AssessmentSerializer(many=True))
    def get(self, request, pk: int):
        case = _scoped(CollectionCase, request, pk)
        return Response(AssessmentSerializer(case.assessments.select_related("assessed_by"), many=True).data)

    @extend_schema(summary="Mark the debtor cannot pay / will not pay, with the evidence (a file id)",
                   request=forms.AssessmentInput, responses={201: AssessmentSerializer})
    def post(self, request, pk: int):
        case = _scoped(CollectionCase, request, pk, agencies.debtor_assess)
        item = agencies.debtor_assess(case_id=case.pk, actor=request.user, **_parsed(forms.AssessmentInput, request))
        return Response(AssessmentSerializer(item).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------------------------------------------
# Servicing requests


class LoanServicing(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="A loan's servicing requests", responses=ServicingSerializer(many=True))
    def get(self, request, pk: int):
        loan = access_loan(request.user, pk)
        return Response(ServicingSerializer(loan.servicing_requests.select_related("filed_by"), many=True).data)

    @extend_schema(summary="File a servicing request (the loan's marketing officer or general)", request=forms.ServicingInput,
                   responses={201: ServicingSerializer})
    def post(self, request, pk: int):
        loan = _loan(request, pk, servicing.servicing_file)
        item = servicing.servicing_file(loan_id=loan.pk, actor=request.user, **_parsed(forms.ServicingInput, request))
        return Response(ServicingSerializer(item).data, status=status.HTTP_201_CREATED)


def _decision(model, input_cls, service, id_kw: str, out, summary: str):
    class View(APIView):
        permission_classes = [HasPost]

        @extend_schema(summary=summary, request=input_cls, responses=out)
        def post(self, request, pk: int):
            obj = _scoped(model, request, pk, service)
            result = service(**{id_kw: obj.pk}, actor=request.user, **_parsed(input_cls, request),
                             version=versioning.expected_version(request, request.data))
            return Response(out(result).data)

    View.__name__ = f"{service.__name__}_view"
    return View


ServicingApprove = _decision(ServicingRequest, forms.OptionalNoteInput, servicing.servicing_approve, "request_id",
                             ServicingSerializer, "Approve a servicing request (a reviewer who did not file it)")
ServicingReject = _decision(ServicingRequest, forms.NoteInput, servicing.servicing_reject, "request_id",
                            ServicingSerializer, "Reject a servicing request")
ServicingExecute = _decision(ServicingRequest, forms.ExecuteInput, servicing.servicing_execute, "request_id",
                             ServicingSerializer, "Post an approved prepayment (general, disbursement)")


# ---------------------------------------------------------------------------------------------------------------
# Write-off and grades


class LoanWriteOffs(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="A loan's write-offs", responses=WriteOffSerializer(many=True))
    def get(self, request, pk: int):
        loan = access_loan(request.user, pk)
        return Response(WriteOffSerializer(loan.write_offs.all(), many=True).data)

    @extend_schema(summary="Propose a write-off with its legal documents (general)", request=forms.WriteOffInput,
                   responses={201: WriteOffSerializer})
    def post(self, request, pk: int):
        loan = _loan(request, pk, write_off.write_off_propose)
        data = _parsed(forms.WriteOffInput, request)
        item = write_off.write_off_propose(loan_id=loan.pk, actor=request.user, reason=data["reason"],
                                           legal_documents=sorted(data["legal_documents"]))
        return Response(WriteOffSerializer(item).data, status=status.HTTP_201_CREATED)


WriteOffReview = _decision(WriteOff, forms.OptionalNoteInput, write_off.write_off_review, "write_off_id", WriteOffSerializer,
                           "Review a write-off (reviewer, not the proposer)")
WriteOffApprove = _decision(WriteOff, forms.OptionalNoteInput, write_off.write_off_approve, "write_off_id",
                            WriteOffSerializer, "Approve a write-off (manager or approver; neither proposer nor reviewer)")
WriteOffReject = _decision(WriteOff, forms.NoteInput, write_off.write_off_reject, "write_off_id", WriteOffSerializer,
                           "Reject a write-off")


class LoanRecoveries(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="Recoveries on a written-off loan", responses=RecoverySerializer(many=True))
    def get(self, request, pk: int):
        loan = access_loan(request.user, pk)
        return Response(RecoverySerializer(loan.recoveries.all(), many=True).data)

    @extend_schema(summary="Record a recovery (general); the same reference again applies nothing",
                   request=forms.RecoveryInput, responses={201: RecoverySerializer, 200: RecoverySerializer})
    def post(self, request, pk: int):
        loan = _loan(request, pk, write_off.recovery_record)
        recovery, created = write_off.recovery_record(loan_id=loan.pk, actor=request.user, **_parsed(forms.RecoveryInput,
                                                                                                      request))
        return Response(RecoverySerializer(recovery).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class LoanGradeChanges(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="A loan's manual grade changes", responses=GradeChangeSerializer(many=True))
    def get(self, request, pk: int):
        loan = access_loan(request.user, pk)
        return Response(GradeChangeSerializer(loan.grade_changes.all(), many=True).data)

    @extend_schema(summary="Change the grade: worse applies at once; better waits for a second person",
                   request=forms.GradeChangeInput, responses={201: GradeChangeSerializer})
    def post(self, request, pk: int):
        loan = _loan(request, pk, grades.grade_change_propose)
        change = grades.grade_change_propose(loan_id=loan.pk, actor=request.user, **_parsed(forms.GradeChangeInput, request))
        return Response(GradeChangeSerializer(change).data, status=status.HTTP_201_CREATED)


GradeApprove = _decision(GradeChange, forms.OptionalNoteInput, grades.grade_change_approve, "change_id",
                         GradeChangeSerializer, "Approve a better grade (manager or reviewer, not the proposer)")
GradeReject = _decision(GradeChange, forms.NoteInput, grades.grade_change_reject, "change_id", GradeChangeSerializer,
                        "Reject a better grade")
