"""Issue 13 finding 1 in the real browser: ticking one more document on a draft and saving keeps its guarantor and its
collateral (the form dropped pre-filled rows left unchanged, and the save deleted them)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from applications import services
from applications.models import Collateral, Guarantor, LoanDocument
from loancenter.lib.dates import today
from tests.browser.test_origination import log_in
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.sidedoor(rule="22", path="browser: /loans/{id}/edit/ one more document ticked (Chromium)")
def test_ticking_one_more_document_keeps_the_guarantor_and_the_collateral(page: Page, live_server, staff, product,
                                                                          customer):
    guarantor = CustomerFactory(officer=staff.mkt, name="王担保")
    loan = services.loan_create(actor=staff.mkt, data=services.ApplicationInput(
        customer=customer, product=product, amount=Decimal("80000.00"), term_months=24,
        repayment_method="equal_installment", purpose="home_renovation", interviewed_on=today() - timedelta(days=1),
        credit_authorised=True, guarantors=[(guarantor, "spouse")],
        collaterals=[{"kind": "vehicle", "description": "2022款轿车", "owner_name": customer.name,
                      "certificate_no": "京A12345", "appraised_value": Decimal("150000.00"),
                      "appraised_on": today() - timedelta(days=3), "disposer_consent": True}],
        documents=["id_card", "income_proof"],
    ))
    kept_guarantor = Guarantor.objects.get(loan=loan)
    kept_collateral = Collateral.objects.get(loan=loan)

    log_in(page, live_server.url, "mkt")
    page.goto(f"{live_server.url}/loans/{loan.pk}/edit/")
    expect(page.locator("#id_guarantors-0-customer")).to_have_value(str(guarantor.pk))
    page.check("input[name=documents][value=guarantor_id]")
    page.click("[data-testid=application-save]")
    expect(page).to_have_url(re.compile(rf"/loans/{loan.pk}/$"))

    assert list(Guarantor.objects.filter(loan=loan).values_list("pk", "customer_id", "relationship")) == [
        (kept_guarantor.pk, guarantor.pk, "spouse")]
    collateral = Collateral.objects.get(loan=loan)
    assert (collateral.pk, collateral.appraised_value) == (kept_collateral.pk, Decimal("150000.00"))
    assert set(LoanDocument.objects.filter(loan=loan).values_list("code", flat=True)) == {
        "id_card", "income_proof", "guarantor_id"}
