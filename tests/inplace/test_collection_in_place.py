"""Logging a collection contact in place (issue 15 part 14): with htmx the case page's log comes back with the new
line and a fresh form; without JavaScript the same address posts and redirects. One contact, one row."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from postloan.models import CollectionAction
from tests.postloan.test_collections import local
from tests.support.forms import rendered_forms

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def contact(case, **extra):
    return {"channel": "phone", "contacted_at": "2025-03-20T10:00", "target": "borrower", "answered": "true",
            "phone": case.loan.customer.phone, "result": "承诺月底还款", **extra}


def test_a_contact_logged_with_htmx_answers_the_log_with_the_new_line(client, staff, t1_case):
    client.force_login(staff.mkt)
    url = reverse("collection-case", args=[t1_case.pk])
    with time_machine.travel(local(11), tick=False):
        (form,) = [f for f in rendered_forms(client.get(url).content) if f.attrs.get("data-testid") == "log-action"]
        assert form.attrs.get("hx-post") == url and form.attrs.get("hx-target") == "#case-log"
        response = client.post(url, contact(t1_case), headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="case-log"') and "<html" not in html
    assert "Collection action logged." in html and "承诺月底还款" in html
    assert 'name="result"' in html and "承诺月底还款</textarea>" not in html  # a fresh form below the new line
    assert CollectionAction.objects.filter(case=t1_case).count() == 1


def test_the_same_contact_without_javascript_redirects(client, staff, t1_case):
    client.force_login(staff.mkt)
    url = reverse("collection-case", args=[t1_case.pk])
    with time_machine.travel(local(11), tick=False):
        response = client.post(url, contact(t1_case))
    assert response.status_code == 302 and response["Location"] == url
    assert CollectionAction.objects.filter(case=t1_case).count() == 1


def test_a_refused_contact_in_place_keeps_the_entries_and_writes_nothing(client, staff, t1_case):
    client.force_login(staff.mkt)
    url = reverse("collection-case", args=[t1_case.pk])
    with time_machine.travel(local(23, 30), tick=False):
        response = client.post(url, contact(t1_case, contacted_at="2025-03-20T23:00"), headers=HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert "22:00" in html and 'data-testid="inline-notice"' in html
    assert "承诺月底还款" in html  # what was typed is still in the form
    assert not CollectionAction.objects.exists()


def test_a_wrong_post_is_refused_in_place_too(client, staff, t1_case):
    client.force_login(staff.arch)
    with time_machine.travel(local(11), tick=False):
        response = client.post(reverse("collection-case", args=[t1_case.pk]), contact(t1_case), headers=HTMX)
    assert response.status_code == 403
    assert not CollectionAction.objects.exists()
