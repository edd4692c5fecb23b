"""Issue 15, part 6 in Chromium: the officer picks a product and sees its documents and purposes, finds the borrower
by the last digits of the ID number, types the terms and watches the calculator's installment and DTI follow."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from applications import rules
from loancenter.lib.money import first_installment, fmt_pct
from tests.browser.test_origination import ARTIFACTS, log_in
from tests.factories import CustomerFactory, ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_officer_sees_requirements_finds_the_borrower_and_the_calculator_follows(page: Page, live_server, staff):
    product = ProductFactory(code="edu", allowed_purposes=["education", "home_renovation"],
                             required_documents=["id_card", "income_proof", "bank_statement"],
                             max_rate=Decimal("0.060000"))
    CustomerFactory(officer=staff.mkt, name="李明", monthly_income=Decimal("9000.00"))
    borrower = CustomerFactory(officer=staff.mkt, name="张伟", monthly_income=Decimal("12000.00"),
                               monthly_debt_payment=Decimal("1500.00"))
    base = live_server.url
    log_in(page, base, "mkt")
    page.goto(f"{base}/loans/new/")

    # The product's documents and purposes, as soon as it is chosen; prohibited purposes are never offered.
    requirements = page.locator("[data-testid=product-requirements]")
    expect(requirements).to_be_hidden()
    page.select_option("#id_product", str(product.pk))
    expect(requirements).to_be_visible()
    expect(requirements.locator("[data-testid=required-documents] li")).to_have_count(3)
    expect(requirements.locator("[data-testid=required-documents] li[data-code=bank_statement]")).to_be_visible()
    expect(requirements.locator("[data-testid=allowed-purposes] li")).to_have_count(2)
    expect(page.locator("#id_purpose option[value=education]")).to_have_count(1)
    expect(page.locator("#id_purpose option[value=gambling]")).to_have_count(0)
    expect(page.locator("#id_purpose option[value=travel]")).to_have_count(0)

    # The borrower, found by the last digits of the ID number.
    page.locator("[data-picker-search=borrower]").fill(borrower.id_number[-4:])
    result = page.locator(f".picker-results [data-customer='{borrower.pk}'] button")
    expect(result).to_be_visible()
    result.click()
    expect(page.locator("#id_customer")).to_have_value(str(borrower.pk))

    # The calculator follows the terms as they are typed, with the rule code's own figures.
    page.select_option("#id_repayment_method", "equal_installment")
    page.fill("#id_term_months", "24")
    page.fill("#id_amount", "60000")
    installment = first_installment(Decimal("60000"), product.max_rate, 24, "equal_installment")
    dti = rules.dti_ratio(borrower, installment=installment)
    calculator = page.locator("[data-testid=calculator]")
    expect(calculator.locator("[data-calc=installment]")).to_have_text(f"{installment:,.2f}")
    expect(calculator.locator("[data-calc=dti_pct]")).to_have_text(fmt_pct(dti))
    expect(calculator.locator("[data-calc=max_dti_pct]")).to_have_text("50%")

    page.fill("#id_amount", "200000")
    dearer = first_installment(Decimal("200000"), product.max_rate, 24, "equal_installment")
    expect(calculator.locator("[data-calc=installment]")).to_have_text(f"{dearer:,.2f}")
    expect(calculator.locator("[data-calc=dti_pct]")).to_have_class("calc-bad")
    expect(calculator.locator("[data-testid=calculator-warnings] li[data-code=dti_exceeded]")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "application-form-calculator.png"), full_page=True)
