"""Issue 15 part 3 in Chromium: the dashboard's trend charts are drawn by the vendored Chart.js, fit their cards at
desktop and phone widths, and the CSP lets them run (no inline script)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from postloan import warnings
from postloan.models import DailySnapshot
from tests.browser.test_origination import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DAY = date(2025, 6, 10)


@pytest.fixture
def trend(product):
    for back in range(30):
        DailySnapshot.objects.create(as_of=DAY - timedelta(days=back), product=product, status="active", grade="normal",
                                     tier="", loans=10, balance=Decimal("1000000.00") + back * 1000,
                                     overdue_balance=Decimal(20000 + back * 500), provision=Decimal("0"))


def charts_fit(page: Page) -> list[dict]:
    return page.evaluate("""() => [...document.querySelectorAll('.chart-card')].map(card => {
        const canvas = card.querySelector('canvas');
        const c = canvas.getBoundingClientRect(), k = card.getBoundingClientRect();
        return {code: card.dataset.chart, drawn: canvas.dataset.drawn === 'true', canvas: c.width, card: k.width,
                left: c.left >= k.left - 0.5, right: c.right <= k.right + 0.5, height: c.height,
                tableOpen: card.querySelector('details.chart-data').open};
    })""")


def test_trend_charts_are_drawn_and_fit_their_cards_on_a_desktop_and_a_phone(page: Page, live_server, staff, trend):
    warnings.warning_level_set(actor=staff.boss, figure="overdue_rate", threshold="0.03", direction="above")
    errors: list[str] = []
    failed: list[str] = []
    # Script errors and CSP refusals; a missing resource is caught by its response (the browser asks for a favicon
    # nobody serves).
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 and "favicon" not in r.url else None)
    log_in(page, live_server.url, "boss")
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.locator("canvas[data-chart-source='chart-data-overdue_rate']")).to_have_attribute("data-drawn", "true")
    assert page.evaluate("typeof window.Chart") == "function"
    desktop = charts_fit(page)
    assert [c["code"] for c in desktop] == ["balance", "overdue_rate", "npl_rate"]
    for chart in desktop:
        assert chart["drawn"] and chart["left"] and chart["right"] and chart["height"] > 100, chart
        assert not chart["tableOpen"], chart  # the chart says it; the table is one click away
    # The warning level is the chart's second dataset, a flat line at 3 %.
    level = page.evaluate("""() => {
        const chart = Chart.getChart(document.querySelector("canvas[data-chart-source='chart-data-overdue_rate']"));
        return chart.data.datasets.map(d => [d.label, d.data[0], d.data[d.data.length - 1]]);
    }""")
    label, first, last = level[1]
    assert label.endswith(" 3.00%") and (first, last) == (3, 3)  # "Warning level 3.00%" / "预警线 3.00%"
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)  # Chart.js resizes on the next frame
    phone = charts_fit(page)
    for chart in phone:
        assert chart["right"] and chart["canvas"] <= 390 and chart["canvas"] <= chart["card"] + 0.5, chart
    assert errors == [] and failed == []


def test_the_dashboard_filters_are_ticked_with_a_finger_on_a_phone(page: Page, live_server, staff, product):
    """Issue 15 part 14: at 390 px the five dimensions are five folded lines; a tap opens one, its boxes are ticked,
    the summary says what is ticked and the cut is applied; nothing is wider than the screen."""
    page.set_viewport_size({"width": 390, "height": 800})
    log_in(page, live_server.url, "boss")
    page.goto(f"{live_server.url}/dashboard/")
    filters = page.locator("[data-testid=report-filters]")
    region = filters.locator("[data-dimension=region]")
    for box in filters.locator("details.dim-filter").all():
        assert box.bounding_box()["height"] < 60  # folded: one line each
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    region.locator("summary").click()
    region.get_by_label("河北省").check()
    region.get_by_label("山西省").check()
    expect(region.locator(".dim-chosen")).to_have_text("河北省、山西省")
    options = region.locator(".dim-options").bounding_box()
    assert options["x"] >= 0 and options["x"] + options["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    filters.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/?region=130000&region=140000")
    expect(page.locator("[data-testid=report-cut]")).to_contain_text("河北省")
    expect(region.locator(".dim-chosen")).to_have_text("河北省、山西省")
    expect(region.get_by_label("河北省")).to_be_checked()
