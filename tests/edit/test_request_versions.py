"""Rule 22 on the requests people file: a decision taken on a page (or API read) that shows an older version of the
request is refused with ``stale_edit``, changes nothing and is recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from applications.models import Status
from archive import services as archive
from archive.models import Lending
from loancenter.lib.dates import today
from postloan.models import ServicingRequest
from postloan.servicing import servicing_file, servicing_reject
from tests.archive.conftest import item, tick
from tests.edit.support import refusals, snapshot
from tests.support.forms import rendered_forms

pytestmark = pytest.mark.django_db

STALE = "has changed since you opened it"


@pytest.fixture
def active(flow, draft):
    return flow.advance(draft, Status.ACTIVE)


@pytest.fixture
def request_filed(staff, active):
    return servicing_file(loan_id=active.pk, actor=staff.mkt, kind=ServicingRequest.ACCOUNT,
                          account_no="6222000011112222", bank="工行")


def form_posting_to(html, action_end: str):
    (form,) = [f for f in rendered_forms(html) if f.action.endswith(action_end)]
    return form


@pytest.mark.sidedoor(rule="22", path="browser: servicing request approved from a stale page")
def test_servicing_decision_from_a_stale_page_is_refused(client, staff, request_filed):
    client.force_login(staff.rev)
    html = client.get(reverse("servicing-detail", args=[request_filed.pk])).content
    approve = form_posting_to(html, "/approve/")
    assert approve["version"] == "1"
    servicing_reject(request_id=request_filed.pk, actor=staff.rev, note="账户名不符")
    before = snapshot(request_filed)
    response = client.post(approve.action, approve.data, follow=True)
    assert STALE in response.content.decode()
    assert snapshot(request_filed) == before and ServicingRequest.objects.get().status == ServicingRequest.REJECTED
    assert refusals() == [("servicing_approve", request_filed.loan_id)]


@pytest.mark.sidedoor(rule="22", path="api: POST /api/servicing-requests/{id}/approve/ with a stale If-Match")
def test_servicing_decision_through_the_api_with_a_stale_version_is_refused(staff, request_filed):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff.rev).key}")
    listed = client.get(f"/api/loans/{request_filed.loan_id}/servicing-requests/").json()
    version = listed[0]["version"] if isinstance(listed, list) else listed["results"][0]["version"]
    servicing_reject(request_id=request_filed.pk, actor=staff.rev, note="账户名不符")
    before = snapshot(request_filed)
    response = client.post(f"/api/servicing-requests/{request_filed.pk}/approve/", {}, format="json",
                           HTTP_IF_MATCH=f'"{version}"')
    assert response.status_code == 409 and response.json()["code"] == "stale_edit"
    assert snapshot(request_filed) == before
    assert refusals() == [("servicing_approve", request_filed.loan_id)]


def test_servicing_decision_on_a_current_page_goes_through(client, staff, request_filed):
    client.force_login(staff.rev)
    approve = form_posting_to(client.get(reverse("servicing-detail", args=[request_filed.pk])).content, "/approve/")
    client.post(approve.action, approve.data)
    request_filed.refresh_from_db()
    assert request_filed.status == ServicingRequest.APPROVED and request_filed.version == 2


@pytest.mark.sidedoor(rule="22", path="browser: archive lending approved from a stale page")
def test_lending_decision_from_a_stale_page_is_refused(client, staff, active):
    it = tick(staff, item(active, "receipt"))
    lending = archive.lending_request(item_id=it.pk, actor=staff.mkt, purpose="贷后检查", due_on=today() + timedelta(days=7))
    client.force_login(staff.arch)
    approve = form_posting_to(client.get(reverse("archive:lending-list")).content, f"/lendings/{lending.pk}/approve/")
    archive.lending_refuse(lending_id=lending.pk, actor=staff.boss, note="暂不调阅")
    before = snapshot(lending)
    response = client.post(approve.action, approve.data, follow=True)
    assert STALE in response.content.decode()
    assert snapshot(lending) == before and Lending.objects.get().status == Lending.REFUSED
    assert refusals() == [("archive_lending_approve", active.pk)]
