"""Archive pages and API: search, data scope, ticking from the browser, the queue, SoD over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from applications.models import Status
from archive.models import Folder, ItemState, Lending
from loancenter.lib.dates import today
from tests.archive.conftest import item, lend_out, tick
from tests.factories import LoanFactory


@pytest.fixture
def folder(active):
    return Folder.objects.get(customer=active.customer)


@pytest.mark.parametrize("how", ["name", "id_number", "id_tail", "contract", "folder_no"])
def test_search_folders_by_name_id_contract_or_folder_number(client, staff, active, folder, how):
    query = {
        "name": active.customer.name, "id_number": active.customer.id_number,
        "id_tail": active.customer.id_number[-6:], "contract": active.contracts.get(kind="loan").contract_no,
        "folder_no": folder.folder_no,
    }[how]
    client.force_login(staff.arch)
    page = client.get("/archive/folders/", {"q": query}).context["page"]
    assert [f.pk for f in page] == [folder.pk]
    assert list(client.get("/archive/folders/", {"q": "没有这个人"}).context["page"]) == []


def test_folder_outside_the_data_scope_is_404(client, staff, folder):
    client.force_login(staff.mkt2)
    assert client.get(f"/archive/folders/{folder.pk}/").status_code == 404
    assert client.get("/archive/folders/").context["page"].paginator.count == 0
    client.force_login(staff.mkt)  # the loan's own marketing officer
    assert client.get(f"/archive/folders/{folder.pk}/").status_code == 200
    for persona in ("arch", "gen", "boss"):
        client.force_login(getattr(staff, persona))
        assert client.get(f"/archive/folders/{folder.pk}/").status_code == 200


def test_archivist_ticks_from_the_folder_page(client, staff, active, folder):
    it = item(active, "receipt")
    client.force_login(staff.arch)
    response = client.post(f"/archive/items/{it.pk}/receive/",
                           {"copy_kind": "original", "pages": "2", "received_on": today().isoformat()}, follow=True)
    assert response.status_code == 200
    it.refresh_from_db()
    assert it.state == ItemState.ON_FILE and it.pages == 2
    assert "ticked as received" in response.content.decode()


def test_refusal_shows_its_message_on_the_page(client, staff, secured_active):
    certificate = item(secured_active, "certificate")
    client.force_login(staff.arch)
    response = client.post(f"/archive/items/{certificate.pk}/receive/",
                           {"copy_kind": "original", "pages": "1", "received_on": today().isoformat()}, follow=True)
    assert "goes to the vault: enter its location" in response.content.decode()
    certificate.refresh_from_db()
    assert certificate.state == ItemState.PENDING


def test_queue_shows_overdue_returns_and_items_to_receive(client, staff, active, folder):
    lending = lend_out(staff, tick(staff, item(active, "loan_application")), days=1)
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        client.force_login(staff.arch)
        response = client.get("/archive/")
    queue = response.context["queue"]
    assert queue.overdue == [lending]
    assert active.pk in [f.loan_id for f in queue.to_receive]
    assert lending.lending_no in response.content.decode()
    client.force_login(staff.mkt)
    assert client.get("/archive/").status_code == 403


def test_anyone_in_scope_requests_a_lending_from_the_browser(client, staff, active):
    it = tick(staff, item(active, "loan_application"))
    client.force_login(staff.rev)
    response = client.post(f"/archive/items/{it.pk}/lend/",
                           {"purpose": "复核", "due_on": (today() + timedelta(days=3)).isoformat()})
    assert response.status_code == 302
    lending = Lending.objects.get()
    assert lending.requester == staff.rev and lending.status == Lending.REQUESTED
    client.force_login(staff.mkt2)
    assert client.get(f"/archive/items/{it.pk}/lend/").status_code == 404


# ---------------------------------------------------------------------------------------------------------------
# API (/api/archive/)


def test_api_folder_list_and_detail(client, staff, active, folder):
    client.force_login(staff.arch)
    listed = client.get("/api/archive/folders/", {"q": folder.folder_no}).json()
    assert [f["folder_no"] for f in listed] == [folder.folder_no]
    detail = client.get(f"/api/archive/folders/{folder.pk}/").json()
    assert detail["loans"][0]["loan"] == active.pk
    codes = [i["code"] for i in detail["loans"][0]["items"]]
    assert "receipt" in codes
    client.force_login(staff.mkt2)
    assert client.get(f"/api/archive/folders/{folder.pk}/").status_code == 404


def test_api_patch_ticks_an_item_and_refuses_a_vault_item_without_location(client, staff, secured_active):
    client.force_login(staff.arch)
    receipt = item(secured_active, "receipt")
    ok = client.patch(f"/api/archive/items/{receipt.pk}/", {"copy_kind": "original", "pages": 2},
                      content_type="application/json")
    assert ok.status_code == 200 and ok.json()["state"] == "on_file" and ok.json()["received_by"] == "arch"
    certificate = item(secured_active, "certificate")
    refused = client.patch(f"/api/archive/items/{certificate.pk}/", {"copy_kind": "original", "pages": 1},
                           content_type="application/json")
    assert refused.status_code == 400 and refused.json()["code"] == "vault_location_required"


def test_api_lending_requester_approving_gets_403_separation_of_duty(client, staff, active):
    it = tick(staff, item(active, "loan_application"))
    client.force_login(staff.arch)
    created = client.post("/api/archive/lendings/", {"item": it.pk, "purpose": "审计抽查",
                                                     "due_on": (today() + timedelta(days=2)).isoformat()},
                          content_type="application/json")
    assert created.status_code == 201
    pk = created.json()["id"]

    refused = client.post(f"/api/archive/lendings/{pk}/approve/", {}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "separation_of_duty"

    client.force_login(staff.boss)
    assert client.post(f"/api/archive/lendings/{pk}/approve/", {}, content_type="application/json").json()["status"] == "approved"
    client.force_login(staff.arch)
    assert client.post(f"/api/archive/lendings/{pk}/out/", {}, content_type="application/json").json()["status"] == "out"
    again = client.post(f"/api/archive/lendings/{pk}/out/", {}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"


def test_folder_page_and_queue_queries_do_not_grow_with_items(client, staff, flow, product, active, folder,
                                                              django_assert_max_num_queries):
    flow.advance(LoanFactory(customer=active.customer, product=product, marketing_officer=staff.mkt), Status.ACTIVE)
    client.force_login(staff.arch)
    with django_assert_max_num_queries(14):
        response = client.get(f"/archive/folders/{folder.pk}/")
    assert len(response.context["files"]) == 2
    with django_assert_max_num_queries(16):
        assert client.get("/archive/").status_code == 200


@pytest.mark.parametrize("url", ["/archive/", "/archive/folders/", "/archive/vault/", "/archive/lendings/",
                                 "/archive/inspections/", "/archive/handovers/", "/archive/destructions/",
                                 "/archive/retention/"])
def test_every_archive_page_opens_for_the_archivist(client, staff, secured_active, url):
    tick(staff, item(secured_active, "certificate"), location="金库A-01-01")
    lend_out(staff, tick(staff, item(secured_active, "receipt")))
    client.force_login(staff.arch)
    response = client.get(url)
    assert response.status_code == 200
    assert "archive-tabs" in response.content.decode()


@pytest.mark.parametrize("url", ["/archive/", "/archive/vault/", "/archive/inspections/", "/archive/handovers/",
                                 "/archive/destructions/"])
def test_archivist_pages_are_refused_to_other_posts(client, staff, url):
    client.force_login(staff.mkt)
    assert client.get(url).status_code == 403


def test_loan_archive_link_leads_to_the_loan_in_its_folder(client, staff, flow, draft):
    loan = flow.advance(draft, Status.APPROVED)
    client.force_login(staff.arch)
    response = client.get(f"/archive/loans/{loan.pk}/")
    assert response.status_code == 302 and f"#loan-{loan.pk}" in response["Location"]
