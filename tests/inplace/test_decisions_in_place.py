"""Deciding requests in place (issue 15 part 14): a servicing request or a write-off decided from its page with htmx
gets the page's body back as a fragment (new status, the outcome, no more decision forms); without JavaScript the
same view redirects. The service runs once; a refusal changes nothing and comes back in the fragment."""

from __future__ import annotations

import pytest
from django.urls import reverse

from applications.models import Status
from loancenter.models import AuditEntry
from loancenter.services import staff_create
from postloan.models import ServicingRequest
from postloan.servicing import servicing_file, servicing_reject
from tests.conftest import PASSWORD
from tests.support.forms import rendered_forms

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def active(flow, draft):
    return flow.advance(draft, Status.ACTIVE)


@pytest.fixture
def filed(staff, active):
    return servicing_file(loan_id=active.pk, actor=staff.mkt, kind=ServicingRequest.ACCOUNT,
                          account_no="6222000011112222", bank="工行")


def form_posting_to(client, url, end: str):
    (form,) = [f for f in rendered_forms(client.get(url).content) if f.action.endswith(end)]
    return form


def test_approving_with_htmx_answers_the_page_body_and_approves_once(client, staff, filed):
    client.force_login(staff.rev)
    approve = form_posting_to(client, reverse("servicing-detail", args=[filed.pk]), "/approve/")
    assert approve.attrs.get("hx-post") == approve.action and approve.attrs.get("hx-target") == "#decision-body"
    response = client.post(approve.action, approve.data, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="decision-body"') and "<html" not in html
    assert "Request approved." in html and 'data-testid="approve"' not in html  # decided: the forms are gone
    filed.refresh_from_db()
    assert filed.status == ServicingRequest.APPROVED and filed.version == 2
    assert AuditEntry.objects.filter(action="servicing_approve", loan_id=filed.loan_id).count() == 1
    assert client.get(reverse("home")).context["messages"] is not None  # no message left waiting for a later page
    assert not [m for m in client.get(reverse("home")).context["messages"]]


def test_the_same_decision_without_javascript_redirects(client, staff, filed):
    client.force_login(staff.rev)
    approve = form_posting_to(client, reverse("servicing-detail", args=[filed.pk]), "/approve/")
    response = client.post(approve.action, approve.data)
    assert response.status_code == 302 and response["Location"] == reverse("servicing-detail", args=[filed.pk])
    filed.refresh_from_db()
    assert filed.status == ServicingRequest.APPROVED
    assert "Request approved." in client.get(response["Location"]).content.decode()


def test_a_stale_decision_in_place_is_refused_and_changes_nothing(client, staff, filed):
    client.force_login(staff.rev)
    approve = form_posting_to(client, reverse("servicing-detail", args=[filed.pk]), "/approve/")
    servicing_reject(request_id=filed.pk, actor=staff.rev, note="账户名不符")
    response = client.post(approve.action, approve.data, headers=HTMX)
    assert response.status_code == 409
    html = response.content.decode()
    assert "has changed since you opened it" in html and 'data-testid="inline-notice"' in html
    filed.refresh_from_db()
    assert filed.status == ServicingRequest.REJECTED


def test_the_filer_cannot_approve_their_own_request_in_place(client, staff, active):
    both = staff_create(username="genrev", posts=["general", "reviewer"], password=PASSWORD)
    own = servicing_file(loan_id=active.pk, actor=both, kind=ServicingRequest.ACCOUNT,
                         account_no="6222000011113333", bank="工行")
    client.force_login(both)
    response = client.post(reverse("servicing-action", args=[own.pk, "approve"]), {"version": "1"}, headers=HTMX)
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.status == ServicingRequest.PENDING


def test_a_grade_upgrade_approved_in_place_answers_the_grade_changes_panel(client, staff, active):
    from postloan.grades import grade_change_propose
    from postloan.models import GradeChange

    grade_change_propose(loan_id=active.pk, actor=staff.gen, to_grade="doubtful", reasons="涉诉")
    up = grade_change_propose(loan_id=active.pk, actor=staff.gen, to_grade="special_mention", reasons="诉讼和解")
    client.force_login(staff.boss)
    approve = form_posting_to(client, reverse("postloan-loan", args=[active.pk]), f"/grade-changes/{up.pk}/approve/")
    assert approve.attrs.get("hx-target") == "#grade-changes-panel"
    response = client.post(approve.action, approve.data, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="grade-changes-panel"') and "Grade change approved." in html
    up.refresh_from_db()
    active.refresh_from_db()
    assert up.status == GradeChange.APPLIED and active.grade == "special_mention"
    again = client.post(approve.action, approve.data, headers=HTMX)  # the same form again: refused, nothing changes
    assert again.status_code in (400, 409) and 'msg-error' in again.content.decode()
    assert GradeChange.objects.get(pk=up.pk).decided_at == up.decided_at
    plain = client.post(reverse("grade-change-action", args=[up.pk, "approve"]), approve.data)
    assert plain.status_code == 302 and plain["Location"] == reverse("postloan-loan", args=[active.pk])
