"""An archivist opens a customer's folder, ticks two documents and downloads the printed checklist."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from applications.models import Status
from archive.models import Folder, ItemState
from tests.archive.conftest import item
from tests.browser.conftest import browser_context_args, browser_type_launch_args  # noqa: F401 (fixtures)
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def test_archivist_ticks_two_items_and_downloads_the_checklist(page: Page, live_server, staff, flow, draft, tmp_path):
    loan = flow.advance(draft, Status.ACTIVE)
    folder = Folder.objects.get(customer=loan.customer)
    base = live_server.url

    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "arch")
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.click("[data-testid=nav-archive]")
    expect(page.locator("[data-testid=to-receive]")).to_contain_text(folder.folder_no)

    # Find the folder by the customer's contract number, in the archive's own search (the header's global search
    # has an input named q too).
    search = page.locator("[data-testid=folder-search] input[name=q]")
    search.fill(loan.contracts.get(kind="loan").contract_no)
    search.press("Enter")
    page.click(f"[data-folder='{folder.folder_no}']")
    expect(page.locator("[data-testid=folder-no]")).to_have_text(folder.folder_no)

    for code, pages in (("receipt", "2"), ("loan_application", "4")):
        row = page.locator(f"tr[data-item='{code}']")
        row.locator("input[name=pages]").fill(pages)
        row.locator("[data-testid=tick]").click()
        expect(page.locator(f"tr[data-item='{code}']")).to_have_attribute("data-state", "on_file")
    expect(page.locator(".msg-success")).to_be_visible()
    if ARTIFACTS.is_dir():
        page.screenshot(path=str(ARTIFACTS / "archive-folder.png"), full_page=True)

    with page.expect_download() as download_info:
        page.click(f"[data-testid=loan-file][data-loan='{loan.pk}'] [data-testid=checklist-pdf]")
    pdf = tmp_path / "checklist.pdf"
    download_info.value.save_as(pdf)

    assert item(loan, "receipt").state == ItemState.ON_FILE and item(loan, "loan_application").pages == 4
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True).stdout.decode()
        assert folder.folder_no in text and loan.customer.name in text
        assert text.count("✓") == 2 and "✗" in text
