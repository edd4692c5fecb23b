from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import models
from django.utils import timezone

from applications.models import Customer, Loan, Product, Status
from demo.loans import DEMO_PASSWORD, DEMO_USERNAMES
from loancenter import posts as P
from loancenter.models import AuditEntry, RefusedAttempt, User

# Every state issue 2 knows.
ORIGINATION_STATES = {
    Status.DRAFT, Status.SUBMITTED, Status.INVESTIGATING, Status.UNDER_REVIEW, Status.PENDING_APPROVAL,
    Status.PENDING_BRANCH_APPROVAL, Status.APPROVED, Status.REJECTED, Status.WITHDRAWN,
}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_seed_demo_builds_the_whole_demo_once(without_personas):
    """One seeding (it drives the real services and the nightly batch through ~430 days), every check on it."""
    demo = seed()
    check_staff_products_and_customers(demo)
    check_origination_states()
    check_post_loan_portfolio()
    check_organisation()
    check_galleries()
    check_second_run_does_nothing()


def check_organisation():
    """Issue 16: the center and two sub-centers with staff in each, and one completed hand-over."""
    from loancenter.models import Handover, Unit

    assert set(Unit.objects.values_list("code", flat=True)) == {"CENTER", "EAST", "WEST"}
    for code in ("EAST", "WEST"):
        assert User.objects.filter(unit_id=code, groups__name=P.MARKETING).exists()
        assert Loan.objects.filter(unit_id=code).exists()
    handover = Handover.objects.get()
    assert (handover.status, handover.from_user.username, handover.to_user.username) == ("approved", "mkt3", "mkt2")
    assert handover.items_moved and not Loan.objects.filter(marketing_officer__username="mkt3").exists()


def check_staff_products_and_customers(demo):
    posts_held = set()
    for username in DEMO_USERNAMES:
        user = User.objects.get(username=username)
        assert user.check_password(DEMO_PASSWORD)
        posts_held |= user.posts
        assert username in demo
    assert posts_held == set(P.ALL_POSTS)
    assert DEMO_PASSWORD in demo
    assert User.objects.get(username="appr1").approval_limit == 300000

    products = {p.category: p for p in Product.objects.all()}
    assert set(products) == {"consumer", "business", "housing", "auto"}
    assert products["business"].dual_investigation
    assert products["housing"].secured and products["housing"].max_ltv == Decimal("0.7")
    assert products["auto"].secured

    assert 45 <= Customer.objects.count() <= 60
    assert Customer.objects.filter(on_warning_list=True).count() == 1


def check_origination_states():
    statuses = set(Loan.objects.values_list("status", flat=True))
    assert ORIGINATION_STATES <= statuses  # later issues add contracts, active and settled loans
    for loan in Loan.objects.filter(status__in=ORIGINATION_STATES - {Status.DRAFT}):
        # Each state was reached by transitions with audit rows, the last one landing in the current state.
        last = loan.audit_entries.exclude(from_status="", to_status="").filter(action__in=[
            "submit", "start_investigation", "complete_investigation", "pass_review", "return_to_marketing",
            "approve", "reject", "return_to_review", "escalate", "withdraw",
        ]).last()
        assert last is not None and last.to_status == loan.status, loan
    escalated = Loan.objects.filter(status=Status.APPROVED, escalated_by__isnull=False)
    assert escalated.exists()
    assert all(loan.approver.username == "branch1" and loan.approved_amount > 300000 for loan in escalated)
    assert not RefusedAttempt.objects.exists()

    # The histories are placed in the past, each in order.
    now = timezone.now()
    times = list(AuditEntry.objects.filter(loan__isnull=False).values_list("loan_id", "at"))
    assert all(at <= now for _loan, at in times)
    for loan in Loan.objects.all():
        ats = list(loan.audit_entries.values_list("at", flat=True))
        assert ats == sorted(ats)


def check_post_loan_portfolio():
    """Active loans in every tier and grade, graded by the batch; a settled loan; the archive filled; warnings set."""
    from postloan.models import BatchRun, Repayment

    active = Loan.objects.filter(status=Status.ACTIVE)
    assert {"T1", "T2", "T3", ""} <= set(active.values_list("collection_tier", flat=True))
    assert {"normal", "special_mention", "substandard", "doubtful", "loss"} <= set(active.values_list("grade", flat=True))
    assert Loan.objects.filter(status=Status.SETTLED).exists()
    assert Repayment.objects.filter(paid_on__gt=models.F("loan__installments__due_date")).exists()  # late payers
    assert not BatchRun.objects.exclude(status=BatchRun.DONE).exists()
    from postloan.models import WarningLevel

    assert WarningLevel.objects.exists()
    # Post-loan credit-bureau queries, each relying on its customer's credit-report authorisation file (rule 22).
    from postloan.models import CreditQuery

    queries = list(CreditQuery.objects.select_related("authorisation_document", "report_document"))
    assert queries
    assert all(q.authorisation_document.code == "credit_authorization"
               and q.authorisation_document.customer_id == q.customer_id for q in queries)
    # ... and each with the report filed in the borrower's folder that day (SPEC §12: the report as a file).
    assert all(q.report_document.code == "credit_report" and q.report_document.customer_id == q.customer_id
               and q.report_document.loan_id is None for q in queries)


def check_galleries():
    """Every submitted demo loan has a file with a preview for each required document (rule 5 on files, SPEC §11)."""
    from applications.files.models import DocumentFile
    from applications.files.selectors import live_codes

    for loan in Loan.objects.exclude(status=Status.DRAFT).select_related("product"):
        assert set(loan.product.required_documents) <= live_codes(loan), loan
    assert not DocumentFile.objects.filter(preview_name="").exists()
    assert DocumentFile.objects.filter(code="site_photo", content_type="image/jpeg").exists()


def check_second_run_does_nothing():
    counts = (User.objects.count(), Customer.objects.count(), Loan.objects.count(), AuditEntry.objects.count())

    output = seed()

    assert "already loaded" in output
    assert (User.objects.count(), Customer.objects.count(), Loan.objects.count(), AuditEntry.objects.count()) == counts


@pytest.mark.django_db
def test_if_no_staff_leaves_a_database_with_real_staff_alone():
    User.objects.create_user("real_person", password="x-long-password")

    output = seed("--if-no-staff")

    assert "not loaded" in output
    assert not Loan.objects.exists() and not Product.objects.exists()
