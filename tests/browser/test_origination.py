"""Four staff log in one after another and take a new application from the form to `approved`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from applications.models import Loan, Status
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, file_received_papers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=login-submit]")
    expect(page.locator("[data-testid=user-name]")).to_have_text(username)


def log_out(page: Page) -> None:
    page.click("[data-testid=logout]")
    expect(page.locator("#id_username")).to_be_visible()


def do(page: Page, action: str, status: str) -> None:
    """Click the action on the loan page, confirm its form, and land back on the loan in ``status``."""
    page.click(f"[data-testid=actions] [data-action={action}]")
    page.click("[data-testid=transition-submit]")
    expect(page.locator("[data-testid=loan-status] [data-status]")).to_have_attribute("data-status", status)


def open_from_queue(page: Page, base: str, loan_no: str) -> None:
    page.goto(f"{base}/")
    page.get_by_role("link", name=loan_no).click()


def test_four_staff_take_a_new_application_to_approved(page: Page, live_server, staff, product, customer):
    base = live_server.url
    guarantor = CustomerFactory(officer=staff.mkt, name="王担保")

    # 1. Marketing enters the application with a guarantor and the received documents, then submits it.
    log_in(page, base, "mkt")
    page.click("[data-testid=nav-new-application]")
    page.select_option("#id_customer", str(customer.pk))
    page.select_option("#id_product", str(product.pk))
    page.fill("#id_amount", "80000.00")
    page.fill("#id_term_months", "24")
    page.select_option("#id_repayment_method", "equal_installment")
    page.select_option("#id_purpose", "home_renovation")
    page.fill("#id_purpose_detail", "新房装修")
    page.check("#id_credit_authorised")
    for code in ("id_card", "income_proof", "guarantor_id"):
        page.check(f"input[name=documents][value={code}]")
    page.select_option("#id_guarantors-0-customer", str(guarantor.pk))
    page.select_option("#id_guarantors-0-relationship", "spouse")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "application-form.png"), full_page=True)
    page.click("[data-testid=application-save]")
    expect(page).to_have_url(re.compile(r"/loans/\d+/$"))
    loan = Loan.objects.get()
    assert list(loan.guarantors.values_list("customer__name", flat=True)) == ["王担保"]
    assert set(loan.documents.values_list("code", flat=True)) == {"id_card", "income_proof", "guarantor_id"}
    file_received_papers(loan)  # the scans (rule 5 reads files; uploading them is tests/browser/test_documents.py)
    do(page, "submit", "submitted")
    log_out(page)

    # 2. The investigator starts and completes the investigation (field visit prefilled with today).
    log_in(page, base, "inv")
    open_from_queue(page, base, loan.application_no)
    do(page, "start_investigation", "investigating")
    page.click("[data-testid=actions] [data-action=complete_investigation]")
    for finding in ("identity", "income", "purpose", "guarantors"):
        page.check(f"#id_{finding}_verified")
    page.select_option("#id_opinion", "recommend")
    page.fill("#id_comment", "借款人收入稳定,担保人情况属实。")
    page.screenshot(path=str(ARTIFACTS / "complete-investigation.png"), full_page=True)
    page.click("[data-testid=transition-submit]")
    expect(page.locator("[data-testid=loan-status] [data-status]")).to_have_attribute("data-status", "under_review")
    log_out(page)

    # 3. The reviewer passes it with the terms prefilled from the recommendation.
    log_in(page, base, "rev")
    open_from_queue(page, base, loan.application_no)
    page.click("[data-testid=actions] [data-action=pass_review]")
    page.fill("#id_annual_rate", "4.35")  # a percentage (issue 15 part 5)
    page.fill("#id_opinion", "资料齐全,用途合规,建议同意。")
    page.click("[data-testid=transition-submit]")
    expect(page.locator("[data-testid=loan-status] [data-status]")).to_have_attribute("data-status", "pending_approval")
    log_out(page)

    # 4. The approver approves it within the authority limit (terms prefilled from the proposal), measured on the
    #    customer's exposure shown on the form (rule 27), stating the reason (rule 31).
    log_in(page, base, "appr")
    open_from_queue(page, base, loan.application_no)
    page.click("[data-testid=actions] [data-action=approve]")
    expect(page.locator("[data-testid=decision-facts] [data-testid=exposure]")).to_contain_text("80,000.00")
    page.fill("#id_reason", "收入稳定,担保充足,同意。")
    page.click("[data-testid=transition-submit]")
    expect(page.locator("[data-testid=loan-status] [data-status]")).to_have_attribute("data-status", "approved")
    expect(page.locator("[data-testid=loan-status]")).to_contain_text(str(Status.APPROVED.label))

    loan.refresh_from_db()
    assert loan.status == Status.APPROVED and loan.approver == staff.appr
    page.screenshot(path=str(ARTIFACTS / "loan-approved.png"), full_page=True)
