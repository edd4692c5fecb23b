"""Issue 15, "Done means": each of the ten posts logs in, follows every link of its menu (read from the page) and
finds its queue counts on its home; every page walked fits a 390 px phone and a 768 px tablet; the ten busiest pages
have no critical or serious axe-core violation (axe-core vendored for the tests only, tests/browser/vendor/).

One browser for the module, one server and one set of data for all ten walks (built once through the real services),
one login per post and test: the module stays well under two minutes on two busy cores.
"""

from __future__ import annotations

import re
import threading
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections, transaction
from django.test import override_settings
from django.test.testcases import LiveServerThread
from playwright.sync_api import Browser, Page, expect

from applications.models import STAGE, Loan, Status
from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.menu import MENU
from postloan.models import CollectionCase
from tests.conftest import PASSWORD, PERSONAS, Flow, User, ensure_baseline
from tests.factories import CustomerFactory, LoanFactory, ProductFactory, SecuredProductFactory, add_collateral

# The data is built once for the module (in a transaction rolled back at its end); each test runs in a transaction of
# its own that rolls back what the walk wrote (sessions), so each test logs its post in afresh.
pytestmark = [pytest.mark.browser, pytest.mark.django_db]

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WIDTHS = (390, 768)
DESKTOP = {"width": 1280, "height": 900}
# The persona of each post (tests/conftest.py).
PERSONA = {P.MARKETING: "mkt", P.INVESTIGATOR: "inv", P.REVIEWER: "rev", P.APPROVER: "appr",
           P.BRANCH_APPROVER: "branch", P.MORTGAGE_CLERK: "clerk", P.DISBURSEMENT: "disb", P.ARCHIVIST: "arch",
           P.GENERAL: "gen", P.MANAGER: "boss"}


# ---------------------------------------------------------------------------------------------------------------
# One server and one set of data for the module


class SharedConnectionServer(ThreadedWSGIServer):
    def _close_connections(self):
        pass  # the shared connection holds the module's transaction: a finished request must not close it


class SerialServerThread(LiveServerThread):
    server_class = SharedConnectionServer


class SerialHandler(StaticFilesHandler):
    """One request at a time: the requests share the test's connection (and its transaction)."""

    lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            return super().__call__(environ, start_response)


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    """The data every walk reads: a loan waiting at each step, a secured loan at the registry, an active loan with
    its fund-use check and a T1 collection case; served by one live server for the module."""
    hashers = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
                                ALLOWED_HOSTS=["*"], LANGUAGE_CODE="zh-hans")
    hashers.enable()
    from loancenter.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    with django_db_blocker.unblock():
        # The module's data lives in one transaction, rolled back at the module's end: the database is left exactly
        # as it was (these tests run among the ordinary database tests, before the data migrations' rows are needed
        # again). Each test's own transaction nests inside it.
        outer = transaction.atomic()
        outer.__enter__()
        ensure_baseline()  # the personas, committed once per worker (tests/conftest.py)
        people = {user.username: user for user in User.objects.filter(username__in=PERSONAS)}
        staff = SimpleNamespace(**{name: people[name] for name in PERSONAS})
        flow = Flow(staff)
        product = ProductFactory(code="consumer")

        def new_loan(**fields):
            return LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product,
                               marketing_officer=staff.mkt, **fields)

        # A loan standing in each waiting state (moved there directly: the queues read states, not their history),
        # and, through the real services, an active loan and a secured loan at the registry.
        loans = {}
        for status in (Status.DRAFT, Status.SUBMITTED, Status.UNDER_REVIEW, Status.PENDING_APPROVAL, Status.APPROVED,
                       Status.READY_TO_DISBURSE):
            loan = new_loan()
            Loan.objects.filter(pk=loan.pk).update(status=status, stage_reached=STAGE[status])
            loans[status] = loan
        loans[Status.ACTIVE] = flow.advance(new_loan(), Status.ACTIVE)
        secured = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=SecuredProductFactory(code="housing"),
                              marketing_officer=staff.mkt, amount=Decimal("150000.00"), term_months=120)
        add_collateral(secured)
        loans["secured"] = flow.advance(secured, Status.CONTRACT_SIGNED)
        CollectionCase.objects.create(loan=loans[Status.ACTIVE], opened_on=today(),
                                      tier="T1", owner_post="marketing", owner=staff.mkt)
        # The server's thread reads the uncommitted data through the test's own connection (as Django's
        # LiveServerTestCase shares SQLite's in-memory one); the test thread waits while a page loads.
        overrides = {"default": connections["default"]}
        for connection in overrides.values():
            connection.inc_thread_sharing()
        # A request must not close the shared connection (its transaction holds the data), as the test client's
        # requests do not.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        server = SerialServerThread("localhost", SerialHandler, connections_override=overrides, port=0)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        if server.error:
            raise server.error
        try:
            yield SimpleNamespace(url=f"http://localhost:{server.port}", staff=staff, loans=loans)
        finally:
            server.terminate()
            for connection in overrides.values():
                connection.dec_thread_sharing()
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            app.conf.task_always_eager = eager
            hashers.disable()


@pytest.fixture
def pages(site, browser: Browser):
    """A logged-in page per post, opened on demand (the login is the real form)."""
    opened: dict[str, Page] = {}

    def page_of(post: str) -> Page:
        if post not in opened:
            context = browser.new_context(viewport=DESKTOP, locale="zh-CN", bypass_csp=True)  # axe is injected
            page = context.new_page()
            page.goto(f"{site.url}/accounts/login/")
            page.fill("#id_username", PERSONA[post])
            page.fill("#id_password", PASSWORD)
            page.click("[data-testid=login-submit]")
            expect(page.locator("[data-testid=user-name]")).to_have_text(PERSONA[post])
            opened[post] = page
        return opened[post]

    yield page_of
    for page in opened.values():
        page.context.close()


@pytest.fixture(autouse=True)
def _in_chinese(settings):
    """The walk reads the pages in the product's language (the suite's default is English)."""
    settings.LANGUAGE_CODE = "zh-hans"


# ---------------------------------------------------------------------------------------------------------------
# Checks


def open_page(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url}: {response.status if response else 'no answer'}"
    assert page.title().strip(), f"{url}: no title"
    body = page.locator("body").inner_text()
    assert "Server Error" not in body and "Traceback" not in body, url
    assert page.locator("main h1").count() >= 1, f"{url}: no heading"


def fits(page: Page, url: str) -> None:
    """No wider than a 390 px phone or a 768 px tablet (the page's own box; tables scroll inside theirs)."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:  # name the widest offenders, to fix them
            wide = page.evaluate("""w => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > w + 1)
                .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && e.className.baseVal === undefined
                     ? '.' + String(e.className).split(' ').join('.') : '') + ' ' + Math.round(e.getBoundingClientRect().right))
                .slice(0, 8)""", width)
            raise AssertionError(f"{url} is {scroll} px wide at {width} px: {wide}")
    page.set_viewport_size(DESKTOP)


def axe_violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.filter(v => v.impact === 'critical' || v.impact === 'serious')
            .map(v => `${v.impact} ${v.id}: ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`);
    }""")
    return found


def menu_links(page: Page) -> list[tuple[str, str]]:
    """The menu as the page shows it: (entry, address) for every link."""
    return page.eval_on_selector_all(
        "[data-testid=menu] a[data-menu]", "links => links.map(a => [a.dataset.menu, a.getAttribute('href')])")


def home_badges(page: Page) -> dict[str, int]:
    return {key: int(n) for key, n in page.eval_on_selector_all(
        "[data-testid=queue-badges] [data-queue]",
        "links => links.map(a => [a.dataset.queue, a.querySelector('[data-count]').dataset.count])")}


# What each post's walk must find waiting on its home (the data of ``site``); every other badge the declaration gives
# the post must be there too, whatever its count.
EXPECTED_COUNTS = {
    P.MARKETING: {"drafts": 1, "to_sign": 1, "collections": 1},
    P.INVESTIGATOR: {"to_investigate": 1},
    P.REVIEWER: {"to_review": 1},
    P.APPROVER: {"to_approve": 1},
    P.BRANCH_APPROVER: {"to_branch": 0},
    P.MORTGAGE_CLERK: {"ledger": 1},
    P.DISBURSEMENT: {"to_disburse": 1},
    P.ARCHIVIST: {},
    P.GENERAL: {"collections": 0},
    P.MANAGER: {"to_approve": 1, "collections": 1},
}


def busiest(site) -> dict[str, list[str]]:
    """The ten busiest pages, each checked by axe in the walk of a post that uses it."""
    active = site.loans[Status.ACTIVE].pk
    return {
        P.MARKETING: ["/loans/new/", f"/loans/{site.loans[Status.DRAFT].pk}/edit/", "/postloan/monitoring/",
                      "/customers/"],
        P.MANAGER: ["/", "/dashboard/", "/loans/", f"/loans/{active}/"],
        P.GENERAL: ["/postloan/collections/", "/lpr/"],  # the LPR register: its form and history (issue 19)
        P.ARCHIVIST: ["/archive/"],
        P.MORTGAGE_CLERK: ["/disbursement/ledger/"],
    }


@pytest.mark.parametrize("post", list(PERSONA))
def test_a_post_reaches_every_page_of_its_menu_and_finds_its_counts(site, pages, post):
    page = pages(post)
    open_page(page, f"{site.url}/")

    # The home counts each queue of the post: one badge per queue the declaration gives it.
    badges = home_badges(page)
    declared = {e.key for e in MENU if e.shows_badge_to(frozenset({post}))}
    assert set(badges) == declared
    for key, n in EXPECTED_COUNTS[post].items():
        assert badges[key] == n, (key, badges)

    links = menu_links(page)
    assert {key for key, _ in links} == {e.key for e in MENU if post in e.posts}
    for _key, href in links:
        address, _, part = href.partition("#")
        url = f"{site.url}{address}"
        open_page(page, url)
        fits(page, url)
        if part:  # a part of a page: the part is there
            assert page.locator(f"[id='{part}']").count() == 1, href
    for href in busiest(site).get(post, []):
        url = f"{site.url}{href}"
        open_page(page, url)
        fits(page, url)
        assert axe_violations(page) == [], url


def test_the_menu_opens_behind_its_button_on_a_phone(site, pages):
    page = pages(P.GENERAL)
    page.set_viewport_size({"width": 390, "height": 800})
    open_page(page, f"{site.url}/")
    menu = page.locator("[data-testid=menu]")
    expect(menu).to_be_hidden()
    page.click("[data-testid=menu-toggle]")
    expect(menu).to_be_visible()
    expect(page.locator("[data-testid=menu-toggle]")).to_have_attribute("aria-expanded", "true")
    page.click("[data-testid=menu] [data-menu=collections]")
    expect(page).to_have_url(re.compile(r"/postloan/collections/$"))
    expect(menu).to_be_hidden()
    page.set_viewport_size(DESKTOP)
    expect(menu).to_be_visible()


def test_the_loan_page_shows_where_the_loan_stands_and_its_trail_in_a_tab(site, pages):
    page = pages(P.MANAGER)
    loan = site.loans[Status.PENDING_APPROVAL]
    open_page(page, f"{site.url}/loans/{loan.pk}/")
    expect(page.locator("[data-testid=lifecycle] [aria-current=step]")).to_have_attribute("data-status",
                                                                                         "pending_approval")
    expect(page.locator("[data-testid=next-step]")).to_contain_text("审批岗")
    expect(page.locator("[data-testid=audit]")).to_be_hidden()
    page.click("[data-testid=loan-tabs] [data-tab=audit-trail]")
    expect(page.locator("[data-testid=audit]")).to_be_visible()
    expect(page.locator("[data-testid=actions]")).to_be_hidden()


def test_the_loan_page_and_a_list_print_on_a4_without_menu_or_buttons(site, pages):
    page = pages(P.MANAGER)
    a4 = 703  # 210 mm less the print stylesheet's 2 × 12 mm margins, at 96 px per inch
    page.set_viewport_size({"width": a4, "height": 1000})
    page.emulate_media(media="print")
    try:
        open_page(page, f"{site.url}/loans/{site.loans[Status.ACTIVE].pk}/")
        for hidden in (".topbar", "[data-testid=menu]", "[data-testid=loan-tabs]", "[data-testid=actions] .btn"):
            assert all(not e.is_visible() for e in page.locator(hidden).all()), hidden
        expect(page.locator("[data-testid=lifecycle]")).to_be_visible()
        expect(page.locator("[data-testid=audit]")).to_be_visible()  # the trail prints with the overview
        assert page.evaluate("document.documentElement.scrollWidth") <= a4
        open_page(page, f"{site.url}/loans/")
        expect(page.locator("table[data-testid=loans]")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= a4
        pdf = page.pdf(prefer_css_page_size=True)
        box = re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
        assert pdf.startswith(b"%PDF") and box, "not a PDF with pages"
        assert (round(float(box[1])), round(float(box[2]))) in {(595, 842), (596, 843)}  # A4 in points
    finally:
        page.emulate_media(media="screen")
        page.set_viewport_size(DESKTOP)
