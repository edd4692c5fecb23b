"""A world with one object of every kind an address can name, all belonging to mkt's loan."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from applications.models import Status
from archive import services as archive_services
from archive.models import ChecklistItem, Folder, LoanFile
from loancenter.lib.dates import today
from postloan.grades import grade_change_propose
from postloan.models import CollectionCase, EscalationTask, ServicingRequest
from postloan.services import repayment_post
from postloan.servicing import servicing_file
from postloan.write_off import write_off_propose


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def world(staff, flow, draft, product, customer):
    """mkt's disbursed loan and everything hanging off it; ``ids`` maps a kind to an existing primary key."""
    loan = flow.advance(draft, Status.ACTIVE)
    archive_services.checklist_sync(loan=loan, actor=staff.arch)
    item = ChecklistItem.objects.filter(loan_file__loan=loan).first()
    item = archive_services.item_receive(item_id=item.pk, actor=staff.arch, copy_kind="original", pages=3,
                                         received_on=today(), location="金库A-01-03" if item.vault else "")
    lending = archive_services.lending_request(item_id=item.pk, actor=staff.mkt, purpose="贷后检查",
                                               due_on=today() + timedelta(days=7))
    repayment, _created = repayment_post(loan_id=loan.pk, actor=staff.gen, amount=Decimal("100.00"), paid_on=today(),
                                         reference="SEC-1")
    request = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=ServicingRequest.EXTENSION, extension_months=6,
                             reason="资金周转")
    write_off = write_off_propose(loan_id=loan.pk, actor=staff.gen, reason="借款人死亡,无遗产可供执行",
                                  legal_documents=["death_certificate", "enforcement_terminated"])
    change = grade_change_propose(loan_id=loan.pk, actor=staff.gen, to_grade="special_mention", reasons="经营困难")
    case = CollectionCase.objects.create(loan=loan, opened_on=today(), tier="T1", owner_post="marketing", owner=staff.mkt)
    task = EscalationTask.objects.create(case=case, loan=loan, kind="legal_action", created_on=today())
    from postloan.models import PostLoanCheck, Signal

    check = PostLoanCheck.objects.filter(loan=loan).first() or PostLoanCheck.objects.create(
        loan=loan, kind=PostLoanCheck.ROUTINE, due_on=today() + timedelta(days=9), created_on=today(),
        owner_post="marketing", owner=staff.mkt)
    signal = Signal.objects.create(loan=loan, code="job_loss", level="orange", source=Signal.MANUAL, raised_on=today(),
                                   raised_by=staff.mkt, owner_post="marketing", owner=staff.mkt,
                                   deadline=today() + timedelta(days=15))
    from applications.models import Collateral
    from postloan.models import AgencyAssignment, CollectionAgency

    collateral = Collateral.objects.create(loan=loan, kind="property", description="东城区某小区1号楼101",
                                           owner_name=customer.name, appraised_value=Decimal("1000000.00"),
                                           appraised_on=today())
    assignment = AgencyAssignment.objects.create(
        case=case, loan=loan, agency=CollectionAgency.objects.create(name="某某资产管理有限公司"), assigned_on=today(),
        assigned_by=staff.mkt, overdue_at_assignment=Decimal("0.00"), principal_at_assignment=loan.outstanding_principal)
    from applications.lpr.services import lpr_file
    from applications.models import ScorecardVersion

    publication = lpr_file(actor=staff.gen, published_on=today(), lpr_1y=Decimal("0.0310"), lpr_5y=Decimal("0.0360"))
    ids = {
        "loan": loan.pk,
        "customer": customer.pk,
        "product": product.pk,
        "folder": Folder.objects.get(customer=customer).pk,
        "file": LoanFile.objects.get(loan=loan).pk,
        "item": item.pk,
        "lending": lending.pk,
        "repayment": repayment.pk,
        "servicing": request.pk,
        "write_off": write_off.pk,
        "grade_change": change.pk,
        "case": case.pk,
        "task": task.pk,
        "document": loan.files.order_by("pk").first().pk,  # the factory's scans (rule 5 reads files)
        "check": check.pk,  # the fund-use check disburse made (SPEC §12)
        "signal": signal.pk,
        "collateral": collateral.pk,
        "assignment": assignment.pk,
        "lpr": publication.pk,  # pending: confirm/reject are live for a second general or manager
        "scorecard": ScorecardVersion.objects.order_by("pk").first().pk,  # a default card (migration 0023)
    }
    return loan, ids
