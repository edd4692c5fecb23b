"""Issue 15 part 1: every post reaches its pages from the menu, and its home counts its queues (within its scope).

The menu is one declaration (loancenter/menu.py); these tests read the menu from the page, as a person would.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.test import Client

from applications.models import Status
from loancenter.models import Unit
from loancenter.services import staff_create
from postloan.models import CollectionCase
from tests.conftest import PASSWORD, PERSONAS

pytestmark = pytest.mark.django_db


def page_of(user, url: str = "/") -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def menu_links(html: str) -> dict[str, str]:
    nav = re.search(r'<nav class="sidenav".*?</nav>', html, re.S).group(0)
    return {key: href.replace("&amp;", "&") for href, key in re.findall(r'href="([^"]+)" data-menu="([^"]+)"', nav)}


def badges(html: str) -> dict[str, int]:
    return {key: int(n) for key, n in re.findall(r'data-queue="([^"]+)">.*?data-count="(\d+)"', html, re.S)}


@pytest.mark.parametrize("persona", [name for name, (posts, _) in PERSONAS.items() if posts and name[-1] != "2"])
def test_every_menu_link_of_a_post_opens(staff, persona):
    user = getattr(staff, persona)
    client = Client()
    client.force_login(user)
    links = menu_links(client.get("/").content.decode())
    assert "home" in links and "loans" in links
    for key, href in links.items():
        response = client.get(href)
        assert response.status_code == 200, (persona, key, href, response.status_code)


def test_the_general_post_finds_collections_servicing_write_offs_reports_and_the_admin(staff):
    html = page_of(staff.gen)
    links = menu_links(html)
    for key in ("collections", "servicing", "write_offs", "classification", "weekly", "admin", "staff_requests",
                "agencies", "check_register"):
        assert key in links, key
    assert {"collections", "servicing", "write_offs", "staff_requests", "handovers"} <= set(badges(html))
    assert "Nothing waits for you." not in html


def test_the_archivist_finds_the_archive_queue_on_the_home_page(staff):
    html = page_of(staff.arch)
    assert "archive" in badges(html)
    assert {"archive", "folders", "vault", "lendings", "destructions", "classification"} <= set(menu_links(html))


def test_the_marketing_officer_counts_their_own_t1_cases(staff, flow, draft):
    loan = flow.advance(draft, Status.ACTIVE)
    CollectionCase.objects.create(loan=loan, opened_on=date(2026, 1, 5), tier="T1", owner_post="marketing",
                                  owner=staff.mkt)
    assert badges(page_of(staff.mkt))["collections"] == 1
    assert badges(page_of(staff.mkt2))["collections"] == 0
    assert badges(page_of(staff.gen))["collections"] == 0  # T1 is marketing's; general works T2/T3
    assert badges(page_of(staff.boss))["collections"] == 1


def test_a_sub_centers_counts_leave_out_the_other_units_loans(staff, flow, draft):
    flow.advance(draft, Status.PENDING_APPROVAL)
    Unit.objects.create(code="EAST", name="东区分中心", may_disburse=True)
    east_boss = staff_create(username="e_boss", posts=["manager"], password=PASSWORD, full_name="e_boss", unit="EAST")
    assert badges(page_of(staff.appr))["to_approve"] == 1
    assert badges(page_of(staff.boss))["to_approve"] == 1
    assert badges(page_of(east_boss))["to_approve"] == 0


def test_a_badge_leads_to_its_queue(staff, flow, draft):
    loan = flow.advance(draft, Status.UNDER_REVIEW)
    html = page_of(staff.rev)
    assert badges(html)["to_review"] == 1
    href = re.search(r'<a href="([^"]+)" data-queue="to_review"', html).group(1).replace("&amp;", "&")
    assert loan.application_no in page_of(staff.rev, href)
