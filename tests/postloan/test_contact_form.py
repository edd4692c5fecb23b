"""Issue 15, part 9: the collection contact form keeps its widgets, its entries and the case around it after a
refusal, and proposes a contact time the quiet-hours rule allows."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from applications.models import Status
from postloan.models import CollectionAction, CollectionAgency, CollectionCase
from postloan.rules import check_contact_hours, default_contact_time
from tests.factories import CustomerFactory, add_guarantor
from tests.postloan.test_collections import DAY, local
from tests.support.forms import rendered_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def t1_case(staff, flow, draft):
    """An active loan with a guarantor, overdue in T1 (as tests/postloan/test_collections.py builds it)."""
    add_guarantor(draft, CustomerFactory(officer=staff.mkt, phone="13900000009"))
    with time_machine.travel(local(10, day=date(2025, 1, 15)), tick=False):
        loan = flow.advance(draft, Status.ACTIVE)
    return CollectionCase.objects.create(loan=loan, opened_on=DAY, tier="T1", owner_post="marketing", owner=staff.mkt)


@pytest.fixture
def late_evening():
    with time_machine.travel(local(23, 30), tick=False):
        yield


def case_url(case) -> str:
    return f"/postloan/cases/{case.pk}/"


@pytest.mark.parametrize(("now", "proposed"), [
    (local(10, 15), local(10, 15)),
    (local(8, 0), local(8, 0)),
    (local(21, 59), local(21, 59)),
    (local(22, 0), local(21, 59)),
    (local(23, 30), local(21, 59)),
    (local(3, 0), local(21, 59, day=date(2025, 3, 19))),
    (local(7, 59), local(21, 59, day=date(2025, 3, 19))),
])
def test_the_default_contact_time_is_never_in_the_quiet_hours(now, proposed):
    assert default_contact_time(now) == proposed
    check_contact_hours(default_contact_time(now))  # the rule that refuses the window accepts it


def test_late_at_night_the_form_proposes_the_last_permitted_minute(staff, t1_case, client, late_evening):
    client.force_login(staff.mkt)
    form = rendered_form(client.get(case_url(t1_case)).content, testid="log-action")
    assert form["contacted_at"] == "2025-03-20T21:59"
    # Posting the proposal back as it is, with what happened, is accepted.
    response = client.post(case_url(t1_case), {**form.data, "channel": ["phone"], "result": ["未接通"]})
    assert response.status_code == 302
    assert CollectionAction.objects.get().contacted_at == local(21, 59)


def test_after_a_refusal_the_form_keeps_its_widgets_entries_and_the_case(staff, t1_case, client, late_evening):
    agency = CollectionAgency.objects.create(name="合规催收公司", active=True)
    guarantor = t1_case.loan.guarantors.get()
    client.force_login(staff.mkt)
    form = rendered_form(client.get(case_url(t1_case)).content, testid="log-action")
    data = {**form.data, "channel": ["phone"], "contacted_at": ["2025-03-20T22:30"], "target": ["guarantor"],
            "guarantor": [str(guarantor.pk)], "phone": [guarantor.customer.phone], "result": ["夜间联系"]}
    refused = client.post(case_url(t1_case), data)
    html = refused.content.decode()
    assert refused.status_code == 400
    assert "No collection contact between 22:00 and 08:00" in html
    assert not CollectionAction.objects.exists()
    # The widgets are the ones the page first drew, holding what was entered.
    assert 'type="datetime-local" name="contacted_at" id="id_contacted_at" value="2025-03-20T22:30"' in html
    assert f'<option value="{guarantor.pk}" selected>{guarantor.customer.name}</option>' in html
    assert f'<option value="{agency.pk}">合规催收公司</option>' in html
    # The case is still around the form: its loan, its overdue figures and its log.
    assert 'data-testid="collection-actions"' in html and str(t1_case.loan) in html and "Total overdue" in html
    again = rendered_form(html, testid="log-action")
    assert again["target"] == "guarantor" and again["guarantor"] == str(guarantor.pk) and again["result"] == "夜间联系"

    # Corrected and posted again from the page as it came back: logged.
    response = client.post(case_url(t1_case), {**again.data, "contacted_at": ["2025-03-20T21:30"]})
    assert response.status_code == 302
    assert CollectionAction.objects.get().guarantor == guarantor


def test_a_bad_time_comes_back_as_a_field_error_in_its_widget(staff, t1_case, client, late_evening):
    client.force_login(staff.mkt)
    form = rendered_form(client.get(case_url(t1_case)).content, testid="log-action")
    response = client.post(case_url(t1_case), {**form.data, "contacted_at": ["not a time"]})
    html = response.content.decode()
    assert response.status_code == 400 and 'type="datetime-local" name="contacted_at"' in html
    assert not CollectionAction.objects.exists()


def test_a_wrong_post_is_refused_before_its_input(staff, t1_case, client, late_evening):
    client.force_login(staff.rev)
    response = client.post(case_url(t1_case), {"channel": "phone"})
    assert response.status_code == 403
    assert not CollectionAction.objects.exists()

