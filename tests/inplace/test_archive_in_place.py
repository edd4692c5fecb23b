"""Ticking archive checklist items in place (issue 15 part 14): with ``HX-Request`` the view answers the loan file's
section of the folder page; without it, the same view redirects to the folder page. The same service runs either
way, once."""

from __future__ import annotations

import pytest
from django.urls import reverse

from archive.models import ItemState, LoanFile
from loancenter.lib.dates import today
from loancenter.models import AuditEntry
from tests.archive.conftest import item

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def tick_data(**extra):
    return {"copy_kind": "original", "pages": "3", "received_on": today().isoformat(), **extra}



def test_a_tick_with_htmx_answers_the_loan_file_section_and_ticks_once(client, staff, active):
    it = item(active, "doc:id_card")
    client.force_login(staff.arch)
    response = client.post(reverse("archive:item-receive", args=[it.pk]), tick_data(), headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<section") and "<html" not in html  # a fragment, not a page
    assert f'id="loan-{active.pk}"' in html and 'data-testid="inline-notice"' in html and "ticked as received" in html
    assert f'id="item-{it.pk}" data-item="doc:id_card" data-state="on_file"' in html
    it.refresh_from_db()
    assert (it.state, it.pages, it.received_by) == (ItemState.ON_FILE, 3, staff.arch)
    # One request, one receipt: the service ran once.
    assert AuditEntry.objects.filter(action="archive_item_receive", object_id=str(it.pk)).count() == 1


def test_the_same_tick_without_javascript_redirects_to_the_folder_page(client, staff, active):
    it = item(active, "doc:income_proof")
    client.force_login(staff.arch)
    response = client.post(reverse("archive:item-receive", args=[it.pk]), tick_data())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("archive:folder-detail", args=[it.loan_file.folder_id]))
    it.refresh_from_db()
    assert it.state == ItemState.ON_FILE
    assert AuditEntry.objects.filter(action="archive_item_receive", object_id=str(it.pk)).count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "ticked as received" in page  # the message, on the page


def test_a_refused_tick_in_place_keeps_the_item_pending_and_says_why(client, staff, active):
    it = item(active, "doc:id_card")
    client.force_login(staff.arch)
    future = tick_data(received_on="2999-01-01")
    response = client.post(reverse("archive:item-receive", args=[it.pk]), future, headers=HTMX)
    assert response.status_code == 400
    assert 'data-testid="inline-notice"' in response.content.decode()
    it.refresh_from_db()
    assert it.state == ItemState.PENDING


def test_withdrawing_a_tick_in_place(client, staff, active):
    it = item(active, "doc:id_card")
    client.force_login(staff.arch)
    client.post(reverse("archive:item-receive", args=[it.pk]), tick_data(), headers=HTMX)
    response = client.post(reverse("archive:item-unreceive", args=[it.pk]), {"reason": "扫描件有误"}, headers=HTMX)
    assert response.status_code == 200 and "was withdrawn" in response.content.decode()
    it.refresh_from_db()
    assert it.state == ItemState.PENDING


def test_a_bulk_tick_in_place(client, staff, active):
    loan_file = LoanFile.objects.get(loan=active)
    chosen = [item(active, c) for c in ("doc:id_card", "doc:income_proof")]
    client.force_login(staff.arch)
    response = client.post(reverse("archive:items-receive-bulk", args=[loan_file.pk]),
                           {"items": [i.pk for i in chosen], "copy_kind": "original", "received_on": ""}, headers=HTMX)
    assert response.status_code == 200 and "2 items ticked as received" in response.content.decode()
    assert all(ItemState.ON_FILE == type(i).objects.get(pk=i.pk).state for i in chosen)


def test_another_post_is_refused_whatever_header_it_sends(client, staff, active):
    it = item(active, "doc:id_card")
    client.force_login(staff.mkt)
    response = client.post(reverse("archive:item-receive", args=[it.pk]), tick_data(), headers=HTMX)
    assert response.status_code == 403
    it.refresh_from_db()
    assert it.state == ItemState.PENDING


def test_the_folder_page_forms_post_in_place_and_without_javascript(client, staff, active):
    it = item(active, "doc:id_card")
    client.force_login(staff.arch)
    page = client.get(reverse("archive:folder-detail", args=[it.loan_file.folder_id])).content.decode()
    url = reverse("archive:item-receive", args=[it.pk])
    assert f'action="{url}"' in page and f'hx-post="{url}"' in page  # works either way
    assert "vendor/htmx/htmx.min.js" in page


def test_a_lending_approved_in_place_answers_its_register_line(client, staff, active):
    from datetime import timedelta

    from archive import services
    from archive.models import Lending
    from tests.archive.conftest import tick
    from tests.support.forms import rendered_forms

    it = tick(staff, item(active, "loan_application"))
    lending = services.lending_request(item_id=it.pk, actor=staff.mkt, purpose="贷后检查",
                                       due_on=today() + timedelta(days=7))
    client.force_login(staff.arch)
    forms = rendered_forms(client.get(reverse("archive:lending-list")).content)
    (approve,) = [f for f in forms if f.action.endswith(f"/lendings/{lending.pk}/approve/")]
    assert approve.attrs.get("hx-target") == "closest tr"
    response = client.post(approve.action, approve.data, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr data-lending="{lending.lending_no}"') and "approved" in html
    lending.refresh_from_db()
    assert lending.status == Lending.APPROVED and lending.decided_by == staff.arch
    again = client.post(approve.action, approve.data, headers=HTMX)  # the same form again: refused, nothing changes
    assert again.status_code in (400, 409) and "msg-error" in again.content.decode()
    plain = client.post(reverse("archive:lending-action", args=[lending.pk, "out"]), {"version": lending.version})
    assert plain.status_code == 302
    lending.refresh_from_db()
    assert lending.status == Lending.OUT
