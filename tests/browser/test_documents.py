"""Issue 17 in the real browser: the marketing officer drags files onto the application and sees each one's progress
and preview, submits, and the reviewer opens the income proof from the loan page's gallery."""

from __future__ import annotations

import base64

import pytest
from playwright.sync_api import Page, expect

from applications.files.models import DocumentDownload, DocumentFile
from applications.files.samples import sample_jpeg, sample_pdf, sample_png
from tests.browser.test_origination import do, log_in, log_out
from tests.factories import LoanFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DROP = """([files]) => {
  const dt = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.b64), c => c.charCodeAt(0));
    dt.items.add(new File([bytes], f.name, {type: f.type}));
  }
  return dt;
}"""


def _file(name: str, content: bytes, kind: str) -> dict:
    return {"name": name, "b64": base64.b64encode(content).decode(), "type": kind}


def test_drag_two_files_see_progress_and_previews_submit_and_the_reviewer_opens_the_proof(
        page: Page, live_server, staff, product, customer, flow):
    base = live_server.url
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, files=[])

    log_in(page, base, "mkt")
    page.goto(f"{base}/loans/{loan.pk}/")
    page.click("[data-testid=loan-documents-link]")
    expect(page.locator("[data-testid=upload-input]")).to_have_attribute("accept",
                                                                         "image/jpeg,image/png,application/pdf")
    # Two files dragged onto the form at once: the pay slip (PDF, 3 pages) and the employer's letter (a photo).
    page.select_option("[data-testid=upload-code]", "income_proof")
    # The drop is a synthetic event: wait until the page's deferred script is listening, as a person's drag would.
    page.wait_for_load_state("load")
    transfer = page.evaluate_handle(DROP, [[_file("工资单.pdf", sample_pdf("pay slip", pages=3), "application/pdf"),
                                            _file("单位证明.jpg", sample_jpeg("letter"), "image/jpeg")]])
    page.dispatch_event("[data-testid=dropzone]", "drop", {"dataTransfer": transfer})
    items = page.locator("[data-testid=upload-item]")
    expect(items).to_have_count(2)
    for index in range(2):
        expect(items.nth(index).locator("progress")).to_have_js_property("value", 100)
        expect(items.nth(index).locator("[data-testid=upload-preview]")).to_be_visible()
    # The ID card scan chosen through the file input; a web page disguised as a PDF is refused by name.
    page.select_option("[data-testid=upload-code]", "id_card")
    page.set_input_files("[data-testid=upload-input]", files=[
        {"name": "身份证.png", "mimeType": "image/png", "buffer": sample_png("id card")},
        {"name": "evil.pdf", "mimeType": "application/pdf", "buffer": b"<html><script>alert(1)</script></html>"},
    ])
    expect(items).to_have_count(4)
    expect(page.locator(".upload-error [role=alert]")).to_contain_text("HTML")
    expect(page.locator(".upload-ok [data-testid=upload-preview]")).to_have_count(3)
    assert sorted(DocumentFile.objects.filter(loan=loan).values_list("code", "version")) == [
        ("id_card", 1), ("income_proof", 1), ("income_proof", 2)]

    # The loan page shows the gallery by code, with the previews; the application is submitted.
    page.goto(f"{base}/loans/{loan.pk}/")
    expect(page.locator("[data-testid=gallery] [data-code=income_proof] img")).to_have_count(2)
    do(page, "submit", "submitted")
    log_out(page)

    flow.advance(loan, to="under_review")
    log_in(page, base, "rev")
    page.goto(f"{base}/loans/{loan.pk}/")
    proof = DocumentFile.objects.get(loan=loan, code="income_proof", version=1)
    # The link opens a new tab on the file, where the browser's own viewer shows the PDF. (Waiting for the tab's own
    # response was flaky in headless Chromium, whose PDF handling sometimes reports none: the tab is awaited, and
    # what the browser receives there is fetched once more with the reviewer's session.)
    with page.context.expect_page() as opened:
        page.click(f"[data-testid=gallery] [data-document='{proof.pk}'] [data-testid=open-document]")
    tab = opened.value
    tab.wait_for_url(f"**/documents/{proof.pk}/file/", wait_until="commit")
    response = page.context.request.get(tab.url)
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert DocumentDownload.objects.filter(reader=staff.rev, document=proof, surface="browser").exists()
