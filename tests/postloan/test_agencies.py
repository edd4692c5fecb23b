"""Collection agencies (SPEC §12 collections strategy): assignment and recall, recoveries counted only while assigned,
the monthly agency report (page and Excel); the debtor marked "cannot pay" / "will not pay" with the evidence."""

from __future__ import annotations

import io
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook

from applications.models import Status
from loancenter.lib.errors import DomainError
from loancenter.models import RefusedAttempt
from postloan import agencies
from postloan.collections import agency_save
from postloan.models import AgencyAssignment, CollectionAgency, CollectionCase, DebtorAssessment
from postloan.services import repayment_post
from postloan.tasks import batch_start
from tests.documents.support import pdf, upload
from tests.factories import CustomerFactory, LoanFactory

SH = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int = 10):
    return time_machine.travel(datetime.combine(day, time(hour), tzinfo=SH), tick=False)


@pytest.fixture
def case(staff, flow, draft):
    """An active loan whose first installment (2025-02-15) is unpaid: the batch of 2025-02-20 opens a T1 case."""
    with at(date(2025, 1, 15)):
        flow.advance(draft, Status.ACTIVE)
    with at(date(2025, 2, 21)):
        batch_start(as_of=date(2025, 2, 20))
    return CollectionCase.objects.get(loan=draft, closed_on__isnull=True)


@pytest.fixture
def agency(staff):
    return agency_save(actor=staff.gen, name="某某资产管理有限公司", licence_no="LIC-001")


def pay(staff, case, amount, on, ref):
    with at(on):
        repayment_post(loan_id=case.loan_id, actor=staff.gen, amount=Decimal(amount), paid_on=on, reference=ref)


def test_recoveries_count_only_while_assigned(staff, case, agency):
    pay(staff, case, "100.00", date(2025, 2, 20), "R-before")  # before the assignment: the bank's own
    with at(date(2025, 2, 21)):
        assignment = agencies.agency_assign(case_id=case.pk, actor=staff.mkt, agency_id=agency.pk, note="委外催收")
    assert assignment.assigned_on == date(2025, 2, 21) and assignment.overdue_at_assignment > 0
    pay(staff, case, "500.00", date(2025, 3, 1), "R-during")
    with at(date(2025, 3, 10)):
        agencies.agency_recall(assignment_id=assignment.pk, actor=staff.gen, reason="催收效果不佳")
    pay(staff, case, "300.00", date(2025, 3, 10), "R-recall-day")  # the recall day is the bank's again
    pay(staff, case, "200.00", date(2025, 3, 12), "R-after")
    assignment.refresh_from_db()
    assert assignment.recalled_on == date(2025, 3, 10) and assignment.recalled_by == staff.gen
    assert agencies.recovered_by(assignment) == Decimal("500.00")
    [feb] = agencies.monthly_report(2025, 2)
    assert (feb.assigned, feb.recalled, feb.held, feb.payments, feb.recovered) == (1, 0, 1, 0, Decimal("0"))
    [mar] = agencies.monthly_report(2025, 3)
    assert (mar.assigned, mar.recalled, mar.held, mar.payments, mar.recovered) == (0, 1, 0, 1, Decimal("500.00"))
    assert mar.recovery_rate == (Decimal("500.00") / assignment.overdue_at_assignment).quantize(Decimal("0.0001"))
    assert agencies.monthly_report(2025, 4) == []


@pytest.mark.sidedoor(rule="12-collections", path="service: agency_save takes an agency holding cases off the whitelist")
def test_assignment_rules(staff, case, agency):
    off = agency_save(actor=staff.gen, name="已停用公司", active=False)
    with at(date(2025, 2, 21)):
        with pytest.raises(DomainError) as caught:
            agencies.agency_assign(case_id=case.pk, actor=staff.mkt, agency_id=off.pk)
        assert caught.value.code == "agency_not_whitelisted"
        with pytest.raises(DomainError) as caught:  # a T1 case is worked by its own officer
            agencies.agency_assign(case_id=case.pk, actor=staff.gen, agency_id=agency.pk)
        assert caught.value.code == "not_case_owner"
        first = agencies.agency_assign(case_id=case.pk, actor=staff.mkt, agency_id=agency.pk)
        other = agency_save(actor=staff.gen, name="另一家公司")
        with pytest.raises(DomainError) as caught:
            agencies.agency_assign(case_id=case.pk, actor=staff.mkt, agency_id=other.pk)
        assert caught.value.code == "already_assigned" and caught.value.status == 409
        # The whitelist: an agency holding a case cannot leave it (SPEC §3), until the case is recalled.
        with pytest.raises(DomainError) as caught:
            agency_save(actor=staff.gen, agency_id=agency.pk, name=agency.name, licence_no="LIC-001", active=False)
        assert caught.value.code == "agency_holds_cases"
        assert CollectionAgency.objects.get(pk=agency.pk).active
        with pytest.raises(DomainError) as caught:
            agencies.agency_recall(assignment_id=first.pk, actor=staff.gen, reason="  ")
        assert caught.value.code == "reason_required"
        agencies.agency_recall(assignment_id=first.pk, actor=staff.gen, reason="合同到期")
        agency_save(actor=staff.gen, agency_id=agency.pk, name=agency.name, licence_no="LIC-001", active=False)
    assert AgencyAssignment.objects.filter(loan_id=case.loan_id).count() == 1
    assert RefusedAttempt.objects.filter(action="agency_assign", loan_id_ref=case.loan_id).count() == 3


def test_assignment_and_recall_through_the_api(api, staff, case, agency):
    with at(date(2025, 2, 21)):
        made = api(staff.mkt).post(f"/api/collection-cases/{case.pk}/assignments/",
                                   {"agency": agency.pk, "until": "2025-05-21"}, format="json")
        assert made.status_code == 201, made.content
        assert made.json()["agency_name"] == agency.name and made.json()["recovered"] == "0.00"
        assert api(staff.inv).post(f"/api/agency-assignments/{made.json()['id']}/recall/", {"reason": "x"},
                                   format="json").status_code in (403, 404)
        recalled = api(staff.gen).post(f"/api/agency-assignments/{made.json()['id']}/recall/", {"reason": "提前收回"},
                                       format="json")
    assert recalled.status_code == 200 and recalled.json()["recalled_on"] == "2025-02-21"


def test_monthly_agency_report_page_and_excel(client, staff, case, agency):
    with at(date(2025, 2, 21)):
        agencies.agency_assign(case_id=case.pk, actor=staff.mkt, agency_id=agency.pk)
    pay(staff, case, "800.00", date(2025, 2, 25), "R-1")
    client.force_login(staff.gen)
    with at(date(2025, 3, 2)):
        page = client.get("/postloan/agencies/report/?month=2025-02")
        assert page.status_code == 200
        assert "800.00" in page.content.decode() and agency.name in page.content.decode()
        book = client.get("/postloan/agencies/report/?month=2025-02&format=xlsx")
        client.force_login(staff.mkt)
        assert client.get("/postloan/agencies/report/").status_code == 403
    assert book.status_code == 200
    rows = list(load_workbook(io.BytesIO(book.content)).active.iter_rows(values_only=True))
    line = next(r for r in rows if r[0] == agency.name)
    assert line[1:5] == (1, 1, 0, 1) and Decimal(str(line[7])) == Decimal("800.00")


# ---------------------------------------------------------------------------------------------------------------
# Cannot pay / will not pay


@pytest.mark.sidedoor(rule="12-collections", path="api: POST /api/collection-cases/{id}/assessments/ without evidence")
def test_stance_needs_evidence_of_this_loan(api, staff, case, product):
    with at(date(2025, 2, 21)):
        with pytest.raises(DomainError) as caught:
            agencies.debtor_assess(case_id=case.pk, actor=staff.mkt, stance="cannot_pay", evidence_id=None,
                                   note="借款人失业")
        assert caught.value.code == "evidence_required"
        # A file of another customer's loan is no evidence here.
        other = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
        foreign = other.files.first()
        with pytest.raises(DomainError) as caught:
            agencies.debtor_assess(case_id=case.pk, actor=staff.mkt, stance="will_not_pay", evidence_id=foreign.pk,
                                   note="有能力但拒不还款")
        assert caught.value.code == "evidence_required"
        assert not DebtorAssessment.objects.exists()
        assert RefusedAttempt.objects.filter(action="debtor_assess", loan_id_ref=case.loan_id).count() == 2
        # Through the API, as a client would: upload the evidence, then mark the debtor with it.
        client = api(staff.mkt)
        refused = client.post(f"/api/collection-cases/{case.pk}/assessments/", {"stance": "cannot_pay", "note": "失业"},
                              format="json")
        assert refused.status_code == 400 and refused.json()["code"] == "evidence_required"
        uploaded = upload(client, case.loan, "collection_evidence", pdf("termination.pdf"))
        assert uploaded.status_code == 201, uploaded.content
        made = client.post(f"/api/collection-cases/{case.pk}/assessments/",
                           {"stance": "cannot_pay", "evidence": uploaded.json()["id"], "note": "单位解除劳动合同通知书"},
                           format="json")
    assert made.status_code == 201, made.content
    assessment = DebtorAssessment.objects.get()
    assert assessment.stance == "cannot_pay" and assessment.evidence_id == uploaded.json()["id"]
    listed = api(staff.gen).get(f"/api/collection-cases/{case.pk}/assessments/").json()
    assert [x["stance"] for x in listed] == ["cannot_pay"]


def test_stance_form_on_the_case_page(client, staff, case):
    with at(date(2025, 2, 21)):
        evidence = case.loan.files.first()
        client.force_login(staff.mkt)
        page = client.get(f"/postloan/cases/{case.pk}/")
        html = page.content.decode()
        assert page.status_code == 200 and 'data-testid="assess-form"' in html
        assert f'value="{evidence.pk}"' in html  # the loan's live files are offered as the evidence
        done = client.post(f"/postloan/cases/{case.pk}/assess/",
                           {"stance": "will_not_pay", "evidence": str(evidence.pk), "note": "有稳定收入,拒不还款"})
        assert done.status_code == 302
        shown = client.get(f"/postloan/cases/{case.pk}/").content.decode()
    assert DebtorAssessment.objects.get().stance == "will_not_pay"
    assert "有稳定收入,拒不还款" in shown
