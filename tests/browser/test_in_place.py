"""Issue 15 part 14 in the real browser: the archivist ticks a checklist item and the row updates in place (htmx, from
our own static files), without the page reloading."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from applications.models import Status
from archive.models import ChecklistItem, ItemState
from tests.browser.test_origination import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_archivist_ticks_an_item_and_sees_it_update_without_a_reload(page: Page, live_server, staff, flow, draft):
    loan = flow.advance(draft, Status.ACTIVE)
    item = ChecklistItem.objects.select_related("loan_file").get(loan_file__loan=loan, code="doc:id_card")
    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(live_server.url) else None)

    log_in(page, live_server.url, "arch")
    page.goto(f"{live_server.url}/archive/folders/{item.loan_file.folder_id}/")
    row = page.locator(f"#item-{item.pk}")
    expect(row).to_have_attribute("data-state", "pending")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    form = row.locator("[data-testid=tick-form]")
    form.locator("input[name=pages]").fill("2")
    with page.expect_response(lambda r: "/archive/items/" in r.url and r.request.method == "POST") as answer:
        form.locator("[data-testid=tick]").click()
    assert answer.value.request.headers.get("hx-request") == "true"

    expect(page.locator(f"#item-{item.pk}")).to_have_attribute("data-state", "on_file")
    expect(page.locator("[data-testid=inline-notice]")).to_be_visible()
    assert page.evaluate("window.__sameDocument === true")
    item.refresh_from_db()
    assert (item.state, item.pages) == (ItemState.ON_FILE, 2)
    assert external == []  # nothing loaded from anywhere else
