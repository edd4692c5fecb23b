"""The LPR register in the browser (SPEC §15, §16.32; issue 19): the general post records a publication from the menu,
cannot confirm it himself (four eyes, refused and recorded), the manager confirms it, and after the repricing night
the LPR-linked loan's page shows the new rate, the next repricing date and the repriced installments."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from applications.lpr.models import LprPublication
from loancenter.models import RefusedAttempt
from postloan.models import Repricing
from tests.api.conftest import api  # noqa: F401  (the fixture: the loan is driven to active through the API)
from tests.browser.test_origination import log_in, log_out
from tests.postloan.test_batch_life import run_batch
from tests.postloan.test_repricing import ANNIVERSARY, lpr_loan, lpr_product, pay_through, publish  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def row(page: Page, publication: LprPublication):
    return page.locator(f"[data-testid=lpr-history] tr[data-publication='{publication.pk}']")


def test_a_publication_is_filed_confirmed_by_another_person_and_reprices_the_loan(page: Page, live_server, api,  # noqa: F811
                                                                                   staff, customer, lpr_product):  # noqa: F811
    base = live_server.url
    publish(staff, date(2025, 2, 20), "0.0310", "0.0360")  # the LPR in force when the loan was approved
    loan = lpr_loan(api, staff, customer, lpr_product)  # 5-year LPR 3.60 % − 20 bp = 3.40 %, anniversary rule
    pay_through(staff, loan, 12)

    # 1. The general post opens the register from the menu and records October's publication (in percent).
    log_in(page, base, "gen")
    page.click("[data-testid=menu] a[data-menu=lpr]")
    expect(page).to_have_url(f"{base}/lpr/")
    page.fill("#id_published_on", "2025-10-20")
    page.fill("#id_lpr_1y", "3.00")
    page.fill("#id_lpr_5y", "3.50")
    page.click("[data-testid=lpr-save]")
    expect(page).to_have_url(f"{base}/lpr/")
    filed = LprPublication.objects.get(published_on=date(2025, 10, 20))
    assert (filed.lpr_1y, filed.lpr_5y, filed.status, filed.filed_by) == (
        Decimal("0.03"), Decimal("0.035"), "pending", staff.gen)
    expect(row(page, filed)).to_have_attribute("data-status", "pending")
    # Not in force yet: the page still names February's publication.
    expect(page.locator("[data-testid=lpr-in-force]")).to_contain_text("2025-02-20")

    # 2. Four eyes: the filer is offered no confirm button, and a confirm posted anyway is refused and recorded.
    expect(row(page, filed).locator(f"[data-testid=lpr-confirm-{filed.pk}]")).to_have_count(0)
    token = page.locator("[data-testid=lpr-form] input[name=csrfmiddlewaretoken]").get_attribute("value")
    page.evaluate("""([action, token]) => {
        const form = document.createElement('form');
        form.method = 'post'; form.action = action;
        const input = document.createElement('input');
        input.type = 'hidden'; input.name = 'csrfmiddlewaretoken'; input.value = token;
        form.appendChild(input); document.body.appendChild(form); form.submit();
    }""", [f"/lpr/{filed.pk}/confirm/", token])
    expect(page).to_have_url(f"{base}/lpr/")
    expect(page.locator(".messages .msg-error")).to_be_visible()
    expect(row(page, filed)).to_have_attribute("data-status", "pending")
    filed.refresh_from_db()
    assert filed.status == "pending" and filed.decided_by is None
    refusal = RefusedAttempt.objects.get(action="lpr_confirm")
    assert (refusal.actor, refusal.code) == (staff.gen, "separation_of_duty")
    log_out(page)

    # 3. The manager confirms it: it is in force.
    log_in(page, base, "boss")
    page.click("[data-testid=menu] a[data-menu=lpr]")
    row(page, filed).locator(f"[data-testid=lpr-confirm-{filed.pk}]").click()
    expect(row(page, filed)).to_have_attribute("data-status", "confirmed")
    expect(page.locator("[data-testid=lpr-in-force]")).to_contain_text("2025-10-20")
    filed.refresh_from_db()
    assert (filed.status, filed.decided_by) == ("confirmed", staff.boss)

    # 4. The anniversary's night reprices the loan at 3.50 % − 20 bp = 3.30 %; its page says so.
    run_batch(ANNIVERSARY)
    assert Repricing.objects.get(loan=loan).new_rate == Decimal("0.033")
    page.goto(f"{base}/loans/{loan.pk}/")
    expect(page.locator("[data-testid=current-rate]")).to_have_text("0.0330")
    expect(page.locator("[data-testid=next-repricing]")).to_have_text("2027-03-10")
    expect(page.locator("[data-testid=spread]")).to_contain_text("2025-02-20")
    page.goto(f"{base}/loans/{loan.pk}/schedule/")
    schedule = page.locator("[data-testid=schedule]")
    expect(schedule.locator("tr[data-installment='12']")).not_to_have_attribute("data-repriced", re.compile(".*"))
    expect(schedule.locator("tr[data-repriced='2026-03-10']")).to_have_count(24)
    expect(schedule.locator("tr[data-installment='13'] .badge").first).to_be_visible()
