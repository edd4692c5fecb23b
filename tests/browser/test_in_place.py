"""Issue 15 part 14 in the real browser: the archivist ticks a checklist item and the row updates in place (htmx, from
our own static files), without the page reloading; a manager decides a staff request the same way; on a phone the
open menu keeps the keyboard inside it and Escape closes it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Page, expect

from applications.models import Status
from archive.models import ChecklistItem, ItemState
from loancenter.models import StaffRequest, User
from loancenter.services import staff_request_file
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


def test_a_manager_approves_a_staff_request_in_place(page: Page, live_server, staff):
    grant = staff_request_file(actor=staff.gen, user=staff.rev, add_posts=["approver"],
                               approval_limit=Decimal("300000"), reason="轮岗")
    log_in(page, live_server.url, "boss")
    page.goto(f"{live_server.url}/staff-requests/")
    row = page.locator(f"[data-testid=pending-staff-requests] tr[data-request='{grant.pk}']")
    expect(row).to_be_visible()
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    row.locator("input[name=note]").first.fill("同意")
    with page.expect_response(lambda r: "/staff-requests/" in r.url and r.request.method == "POST") as answer:
        page.click(f"[data-testid=approve-{grant.pk}]")
    assert answer.value.request.headers.get("hx-request") == "true" and answer.value.status == 200

    expect(page.locator("[data-testid=inline-notice]")).to_be_visible()
    expect(page.locator("[data-testid=inline-notice]")).to_have_class("msg msg-success")
    expect(row).to_have_count(0)  # no longer waiting
    expect(page.locator(f"[data-testid=decided-staff-requests] tr[data-request='{grant.pk}']")).to_contain_text("同意")
    assert page.evaluate("window.__sameDocument === true")
    grant.refresh_from_db()
    assert grant.state == StaffRequest.State.APPROVED
    assert User.objects.get(pk=staff.rev.pk).posts == {"reviewer", "approver"}


def focus_in_menu(page: Page) -> bool:
    return page.evaluate("document.activeElement.closest('#sidenav') !== null")


def test_the_open_menu_keeps_the_keyboard_and_escape_closes_it_on_a_phone(page: Page, live_server, staff):
    page.set_viewport_size({"width": 390, "height": 800})
    log_in(page, live_server.url, "gen")
    menu, toggle = page.locator("[data-testid=menu]"), page.locator("[data-testid=menu-toggle]")
    expect(menu).to_be_hidden()
    toggle.focus()
    page.keyboard.press("Enter")
    expect(menu).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    links = menu.locator("a[href]").count()
    assert links > 3

    # Tab goes round the button and the menu's links, and never leaves them.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement === document.querySelector('#sidenav a[href]')")
    for _ in range(links - 1):
        page.keyboard.press("Tab")
        assert focus_in_menu(page)
    page.keyboard.press("Tab")
    expect(toggle).to_be_focused()  # from the last link back to the button
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement === [...document.querySelectorAll('#sidenav a[href]')].at(-1)")
    page.keyboard.press("Shift+Tab")
    assert focus_in_menu(page)

    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    page.keyboard.press("Tab")  # closed: the keyboard goes on through the page
    assert not focus_in_menu(page)


def test_without_javascript_the_menu_is_open_on_a_phone(browser: Browser, live_server, staff):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 800}, locale="zh-CN")
    try:
        page = context.new_page()
        log_in(page, live_server.url, "gen")
        expect(page.locator("[data-testid=menu]")).to_be_visible()
        expect(page.locator("[data-testid=menu-toggle]")).to_be_hidden()  # no button that would do nothing
        page.click("[data-testid=menu] [data-menu=collections]")
        expect(page.locator("[data-testid=menu] [data-menu=collections]")).to_have_attribute("aria-current", "page")
    finally:
        context.close()
