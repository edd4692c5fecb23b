"""SPEC §13 in the real browser: a manager approves a hand-over on its page, and the receiver finds the loans in
their work queue (the giver no longer does)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from loancenter.handovers import handover_file
from tests.browser.test_origination import log_in, log_out
from tests.factories import CustomerFactory, LoanFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_approves_a_hand_over_and_the_receiver_finds_the_loans_in_their_queue(page: Page, live_server,
                                                                                       staff, product):
    loans = [LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
             for _ in range(2)]
    handover = handover_file(actor=staff.gen, from_user=staff.mkt, to_user=staff.mkt2, reason="调往个贷二部")

    log_in(page, live_server.url, "boss")
    page.goto(f"{live_server.url}/handovers/{handover.pk}/")
    for loan in loans:
        expect(page.locator("[data-testid=handover-items]")).to_contain_text(loan.application_no)
    page.click("[data-testid=handover-approve]")
    expect(page.locator("h1")).to_contain_text("approved")
    log_out(page)

    log_in(page, live_server.url, "mkt2")
    page.goto(f"{live_server.url}/")
    for loan in loans:
        expect(page.locator("main")).to_contain_text(loan.application_no)
    log_out(page)

    log_in(page, live_server.url, "mkt")
    page.goto(f"{live_server.url}/")
    for loan in loans:
        expect(page.locator("main")).not_to_contain_text(loan.application_no)
