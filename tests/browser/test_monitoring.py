"""Issue 18: an officer completes the fund-use check in the browser and raises a signal; the manager then sees it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from applications.models import Status
from postloan.models import PostLoanCheck, Signal
from tests.browser.test_origination import log_in, log_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def signal_catalogue(transactional_db):
    """A transactional test may start on a database an earlier one flushed: the signal catalogue that the data
    migration loads is loaded again, by the migration's own function."""
    from importlib import import_module

    from django.apps import apps

    import_module("postloan.migrations.0012_signal_catalogue").load(apps, None)


def test_officer_completes_the_fund_use_check_and_raises_a_signal_the_manager_sees(page: Page, live_server, staff, flow,
                                                                                  draft):
    loan = flow.advance(draft, Status.ACTIVE)
    check = PostLoanCheck.objects.get(loan=loan, kind="fund_use")
    base = live_server.url

    log_in(page, base, "mkt")
    page.click("[data-testid=nav-monitoring]")
    row = page.locator("[data-testid=my-checks] tr", has_text=loan.application_no)
    expect(row).to_be_visible()
    row.get_by_role("link").last.click()
    page.fill("#id_findings", "借款人已将资金用于装修,但近期失业,收入中断")
    page.fill("#id_borrower_situation", "待业在家,靠配偶收入")
    page.select_option("#id_conclusion", "signal")
    page.select_option("#id_signal_code", "job_loss")
    page.fill("#id_counterparty_name", "某某装修公司")
    page.fill("#id_counterparty_account", "6222020200112233445")
    page.fill("#id_counterparty_bank", "建设银行")
    page.click("[data-testid=postloan-form] button[type=submit]")
    expect(page.locator("[data-testid=my-signals]")).to_contain_text(loan.application_no)
    check.refresh_from_db()
    assert (check.status, check.conclusion) == ("done", "signal")
    assert Signal.objects.get(loan=loan).code == "job_loss"
    log_out(page)

    log_in(page, base, "boss")
    page.goto(f"{base}/postloan/signals/")
    expect(page.locator("[data-testid=signal-levels] [data-level=orange] strong")).to_have_text("1")
    page.locator("[data-testid=signal-levels] [data-level=orange]").click()
    expect(page.locator("[data-testid=signal-rows]")).to_contain_text(loan.application_no)
    expect(page.locator("[data-testid=signal-rows]")).to_contain_text("Job loss")
