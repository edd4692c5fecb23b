"""The side navigation: each post sees its own sections, in its language, with the current page marked.

The navigation is drawn once per language, set of posts and page (loancenter/menu.py, from its one declaration); these
tests look at it across people and languages in one process, so that a drawing kept for one can never show to another.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def nav_of(user, url: str, language: str | None = None) -> str:
    client = Client()
    client.force_login(user)
    if language:
        client.post(reverse("set_language"), {"language": language, "next": "/"})
    html = client.get(url).content.decode()
    return re.search(r'<nav class="sidenav".*?</nav>', html, re.S).group(0)


def test_each_post_sees_its_own_sections(staff):
    manager = nav_of(staff.boss, reverse("home"))
    marketing = nav_of(staff.mkt, reverse("home"))
    archivist = nav_of(staff.arch, reverse("home"))
    assert 'data-testid="nav-dashboard"' in manager and 'data-testid="nav-pii-views"' in manager
    assert 'data-testid="nav-new-application"' in marketing
    assert 'data-testid="nav-archive"' in archivist
    for other in (marketing, archivist):
        assert 'data-testid="nav-dashboard"' not in other
    assert 'data-testid="nav-new-application"' not in manager + archivist
    assert 'data-testid="nav-archive"' not in marketing
    assert 'data-testid="nav-archive"' in manager  # the manager decides loans-out and destructions (archive.rules)


def test_a_change_of_posts_shows_at_the_next_page(staff):
    from loancenter.services import staff_set_posts

    assert 'data-testid="nav-archive"' not in nav_of(staff.mkt, reverse("home"))
    staff_set_posts(user=staff.mkt, posts=["marketing", "archivist"])
    assert 'data-testid="nav-archive"' in nav_of(staff.mkt, reverse("home"))


def test_the_current_page_is_marked(staff):
    on_home = nav_of(staff.mkt, reverse("home"))
    on_loans = nav_of(staff.mkt, reverse("loan-list"))
    assert re.search(r'href="/" data-menu="home" class="current" aria-current="page"', on_home)
    assert not re.search(r'href="/loans/" data-menu="loans" class="current"', on_home)
    assert re.search(r'href="/loans/" data-menu="loans" class="current"', on_loans)
    assert not re.search(r'href="/" data-menu="home" class="current"', on_loans)


def test_a_filtered_list_marks_its_own_entry(staff):
    drafts = nav_of(staff.mkt, reverse("loan-list") + "?status=draft")
    assert re.search(r'data-menu="drafts" class="current"', drafts)
    assert not re.search(r'data-menu="loans" class="current"', drafts)


def test_the_navigation_speaks_the_chosen_language(staff, settings):
    settings.LANGUAGE_CODE = "zh-hans"  # the product's default (the suite's is English)
    chinese = nav_of(staff.mkt, reverse("home"))
    english = nav_of(staff.mkt, reverse("home"), language="en")
    assert "My work queue" in english and "My work queue" not in chinese
    assert "我的待办" in chinese and "我的待办" not in english
    assert nav_of(staff.mkt, reverse("home")) == chinese  # a new session starts in Chinese again
    assert nav_of(staff.mkt, reverse("home"), language="zh-hans") == chinese
