"""Post-loan API addresses, included under /api/."""

from django.urls import path

from postloan import apis, repayment_apis

urlpatterns = [
    path("loans/<int:pk>/schedule/", repayment_apis.LoanSchedule.as_view(), name="api-loan-schedule"),
    path("loans/<int:pk>/repayments/", repayment_apis.LoanRepayments.as_view(), name="api-loan-repayments"),
    path("collection-cases/", apis.CaseList.as_view(), name="api-collection-cases"),
    path("collection-cases/<int:pk>/actions/", apis.CaseActions.as_view(), name="api-collection-actions"),
    path("escalation-tasks/<int:pk>/done/", apis.TaskDone.as_view(), name="api-escalation-task-done"),
    path("collection-agencies/", apis.AgencyList.as_view(), name="api-collection-agencies"),
    path("collection-cases/<int:pk>/assignments/", apis.CaseAssignments.as_view(), name="api-case-assignments"),
    path("agency-assignments/<int:pk>/recall/", apis.AssignmentRecall.as_view(), name="api-assignment-recall"),
    path("collaterals/<int:pk>/revaluations/", apis.CollateralRevaluations.as_view(), name="api-collateral-revaluations"),
    path("collection-cases/<int:pk>/assessments/", apis.CaseAssessments.as_view(), name="api-case-assessments"),
    path("loans/<int:pk>/servicing-requests/", apis.LoanServicing.as_view(), name="api-loan-servicing"),
    path("servicing-requests/<int:pk>/approve/", apis.ServicingApprove.as_view(), name="api-servicing-approve"),
    path("servicing-requests/<int:pk>/reject/", apis.ServicingReject.as_view(), name="api-servicing-reject"),
    path("servicing-requests/<int:pk>/execute/", apis.ServicingExecute.as_view(), name="api-servicing-execute"),
    path("loans/<int:pk>/write-offs/", apis.LoanWriteOffs.as_view(), name="api-loan-write-offs"),
    path("write-offs/<int:pk>/review/", apis.WriteOffReview.as_view(), name="api-write-off-review"),
    path("write-offs/<int:pk>/approve/", apis.WriteOffApprove.as_view(), name="api-write-off-approve"),
    path("write-offs/<int:pk>/reject/", apis.WriteOffReject.as_view(), name="api-write-off-reject"),
    path("loans/<int:pk>/recoveries/", apis.LoanRecoveries.as_view(), name="api-loan-recoveries"),
    path("loans/<int:pk>/grade-changes/", apis.LoanGradeChanges.as_view(), name="api-loan-grade-changes"),
    path("grade-changes/<int:pk>/approve/", apis.GradeApprove.as_view(), name="api-grade-approve"),
    path("grade-changes/<int:pk>/reject/", apis.GradeReject.as_view(), name="api-grade-reject"),
]
