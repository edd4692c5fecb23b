"""Labels, not codes, wherever a person reads (issue 15 part 4): the audit trail as readable events (each field
changed, old → new, with the field's and the choice's labels), the drill-down's filters and orders, grades, the
exports' headers and values, the approval form PDF. The API keeps the codes."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from applications import services
from applications.models import Loan, Status
from loancenter.lib.dates import today
from loancenter.models import AuditEntry
from tests.factories import CustomerFactory, LoanFactory
from tests.support.forms import rendered_form

D = Decimal


@pytest.fixture
def draft_with_rows(staff, product, customer):
    guarantor = CustomerFactory(officer=staff.mkt, name="王担保")
    return services.loan_create(actor=staff.mkt, data=services.ApplicationInput(
        customer=customer, product=product, amount=D("80000.00"), term_months=24,
        repayment_method="equal_installment", purpose="home_renovation", purpose_detail="厨房改造",
        interviewed_on=today() - timedelta(days=1), credit_authorised=True,
        guarantors=[(guarantor, "spouse")], collaterals=[], documents=["id_card", "income_proof"],
    ))


def edit_through_the_form(client, loan, **changes):
    url = reverse("loan-edit", args=[loan.pk])
    data = rendered_form(client.get(url).content, testid="application-form").data
    data.update({k: [v] for k, v in changes.items()})
    assert client.post(url, data).status_code == 302


def audit_lines(html: str) -> list[str]:
    block = html[html.index('data-testid="audit"'):]
    block = block[:block.index("</ol>")]
    return [re.sub(r"\s+", " ", line).strip() for line in re.findall(r"<li>([^<]*)</li>", block)]


def test_an_edit_lists_each_changed_field_old_to_new_with_labels(client, staff, draft_with_rows):
    client.force_login(staff.mkt)
    edit_through_the_form(client, draft_with_rows, repayment_method="equal_principal", amount="120000.00")
    html = client.get(reverse("loan-detail", args=[draft_with_rows.pk])).content.decode()
    lines = audit_lines(html)
    assert "Repayment method: Equal installment (等额本息) → Equal principal (等额本金)" in lines
    assert "Amount: 80,000.00 → 120,000.00" in lines
    assert 'data-audit-action="update">Application edited<' in html
    assert 'data-audit-action="create">Application created<' in html
    assert "repayment_method" not in html.split('data-testid="audit"')[1]
    assert "equal_installment" not in html.split('data-testid="audit"')[1]


def test_the_audit_trail_reads_in_chinese(client, staff, draft_with_rows, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    client.force_login(staff.mkt)
    with translation.override("zh-hans"):
        edit_through_the_form(client, draft_with_rows, repayment_method="equal_principal")
        html = client.get(reverse("loan-detail", args=[draft_with_rows.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    lines = audit_lines(html.content.decode())
    assert any(line.startswith("还款方式: 等额本息") and line.endswith("等额本金") for line in lines), lines


def test_a_decision_lists_its_terms_in_words(client, staff, flow, product, customer):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, amount=D("50000.00"))
    flow.advance(loan, Status.APPROVED)
    client.force_login(staff.mkt)
    html = client.get(reverse("loan-detail", args=[loan.pk])).content.decode()
    trail = html.split('data-testid="audit"')[1]
    assert "annual_rate=" not in trail and "repayment_method=" not in trail and "term_months" not in trail
    rate = Loan.objects.get(pk=loan.pk).annual_rate
    assert f"Annual rate: {rate * 100:.2f}%" in trail
    assert "Amount: 50,000.00" in trail
    assert "Repayment method: " in trail


def test_the_api_keeps_the_codes(staff, draft_with_rows):
    from rest_framework.test import APIClient

    services.loan_update_draft(actor=staff.mkt, loan_id=draft_with_rows.pk, data=services.ApplicationInput(
        customer=draft_with_rows.customer, product=draft_with_rows.product, amount=D("80000.00"), term_months=24,
        repayment_method="equal_principal", purpose="home_renovation", purpose_detail="厨房改造",
        interviewed_on=today() - timedelta(days=1), credit_authorised=True,
        guarantors=[(g.customer, g.relationship) for g in draft_with_rows.guarantors.all()], collaterals=[],
        documents=["id_card", "income_proof"]))
    api = APIClient()
    api.force_authenticate(staff.mkt)
    body = api.get(f"/api/loans/{draft_with_rows.pk}/audit/").json()
    rows = body["results"] if isinstance(body, dict) else body
    update = next(r for r in rows if r["action"] == "update")
    assert update["payload"]["new"] == {"repayment_method": "equal_principal"}


@pytest.fixture
def graded(staff, product, customer):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
    Loan.objects.filter(pk=loan.pk).update(status=Status.ACTIVE, grade="special_mention", collection_tier="T1",
                                           outstanding_principal=D("12345.00"))
    return loan


def test_drill_down_filters_orders_and_grades_read_as_labels(client, staff, graded, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    client.force_login(staff.boss)
    with translation.override("zh-hans"):
        html = client.get(reverse("report-loans") + "?status=active&order=-dpd",
                          HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    order = re.search(r'<select name="order"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert '<option value="-dpd" selected>逾期天数（降序）</option>' in order
    assert ">-dpd<" not in order and ">-balance<" not in order
    row = re.search(rf'<tr data-loan="{graded.pk}">.*?</tr>', html, re.S).group(0)
    assert "关注" in row and "special_mention" not in row
    filters = html[html.index('data-testid="filters"'):html.index("</form>", html.index('data-testid="filters"'))]
    for english in ("Decided from", "Disbursed to", "Due from", "Status", "Officer"):
        assert f"{english} <" not in filters and f">{english}" not in filters


def test_exports_carry_labels_in_the_readers_language(client, staff, graded, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    client.force_login(staff.boss)
    with translation.override("zh-hans"):
        body = client.get(reverse("report-loans") + "?status=active&format=csv",
                          HTTP_ACCEPT_LANGUAGE="zh-hans")
        text = b"".join(body.streaming_content).decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(text)))[:2]
    assert header[0] == "申请编号" and "状态" in header and "分类" in header
    assert "关注" in row and "special_mention" not in row and "active" not in row


def test_the_approval_form_pdf_names_the_decisions_in_words(client, staff, flow, product, customer):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, amount=D("300000.00"))
    flow.advance(loan, Status.PENDING_APPROVAL)
    from review.services import loan_escalate

    loan_escalate(loan_id=loan.pk, actor=staff.appr, reason="超出本级授权")
    client.force_login(staff.boss)
    response = client.get(reverse("loan-approval-pdf", args=[loan.pk]))
    assert response.status_code == 200, response.content[:300]
    text = subprocess.run(["pdftotext", "-", "-"], input=response.content, capture_output=True, check=True).stdout
    text = text.decode()
    assert "Escalated to the branch" in text and "超出本级授权" in text
    assert "escalate" not in text.replace("Escalated", "")
    assert "300,000.00" in text
    assert AuditEntry.objects.filter(loan=loan, action="escalate").exists()


def test_a_servicing_request_shows_field_labels_not_field_names(client, staff, flow, draft):
    from datetime import date, datetime, time
    from zoneinfo import ZoneInfo

    import time_machine

    from postloan.models import ServicingRequest
    from postloan.servicing import servicing_approve, servicing_file

    with time_machine.travel(datetime.combine(date(2025, 1, 15), time(10), tzinfo=ZoneInfo("Asia/Shanghai")),
                             tick=False):
        loan = flow.advance(draft, Status.ACTIVE)
        first = servicing_file(loan_id=loan.pk, actor=staff.gen, kind=ServicingRequest.ACCOUNT,
                               account_no="6222000011112222", bank="工行")
        servicing_approve(request_id=first.pk, actor=staff.rev)
        second = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=ServicingRequest.EXTENSION, extension_months=12)
        servicing_approve(request_id=second.pk, actor=staff.rev, note="同意展期")
        client.force_login(staff.rev)
        account = client.get(f"/postloan/servicing/{first.pk}/").content.decode()
        extension = client.get(f"/postloan/servicing/{second.pk}/").content.decode()
    assert "Account number: 6222000011112222" in account and "Bank: 工行" in account
    assert "account_no" not in account
    assert "<dt>Maturity after</dt><dd>2029-01-15</dd>" in extension
    assert "new_maturity" not in extension and "observation_until" not in extension


def test_owner_posts_surfaces_and_tiers_read_as_labels(client, staff, graded, customer):
    from loancenter.models import PiiView
    from postloan.monitoring_models import PostLoanCheck

    PiiView.objects.create(viewer=staff.mkt, customer=customer, surface="api")
    PostLoanCheck.objects.create(loan=graded, kind="routine", due_on=today(), created_on=today(), owner=None,
                                 owner_post="general", status="open")
    client.force_login(staff.boss)
    pii = client.get(reverse("pii-views")).content.decode()
    assert "<td>API</td>" in pii and "<td>api</td>" not in pii
    register = client.get(reverse("check-register")).content.decode()
    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{graded.application_no}.*?</tr>", register, re.S).group(0)
    assert "General post" in row and ">general<" not in row
