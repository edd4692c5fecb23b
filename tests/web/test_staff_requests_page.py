"""The managers' page of staff requests (rule 30): pending grants with approve and reject."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from loancenter.models import RefusedAttempt, User
from loancenter.services import staff_create, staff_request_file
from tests.conftest import PASSWORD

URL = "/staff-requests/"


def action(pk: int, name: str) -> str:
    return reverse("staff-request-action", args=[pk, name])


@pytest.fixture
def grant(staff):
    return staff_request_file(actor=staff.gen, user=staff.rev, add_posts=["approver"], approval_limit=Decimal("300000"),
                              reason="轮岗")


def test_the_manager_sees_a_pending_grant_and_approves_it(login, staff, grant):
    client = login(staff.boss)
    page = client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-request="{grant.pk}" data-user="rev"' in html and "300,000.00" in html and "轮岗" in html
    assert f'data-testid="approve-{grant.pk}"' in html

    response = client.post(action(grant.pk, "approve"), {"note": "同意"})

    assert response.status_code == 302 and response["Location"] == URL
    user = User.objects.get(pk=staff.rev.pk)
    assert user.posts == {"reviewer", "approver"} and user.approval_limit == Decimal("300000.00")
    assert 'data-testid="decided-staff-requests"' in client.get(URL).content.decode()


def test_general_sees_the_list_but_has_no_buttons_and_cannot_decide(login, staff, grant):
    client = login(staff.gen)
    html = client.get(URL).content.decode()
    assert f'data-request="{grant.pk}"' in html and f'data-testid="approve-{grant.pk}"' not in html

    response = client.post(action(grant.pk, "approve"), {})

    assert response.status_code == 403
    assert User.objects.get(pk=staff.rev.pk).posts == {"reviewer"}
    assert RefusedAttempt.objects.latest("id").code == "post_required"


@pytest.mark.sidedoor(rule="30", path="browser: POST /staff-requests/{id}/approve/ (the filer)")
def test_the_manager_who_filed_gets_the_refusal_on_the_page_and_nothing_changes(login, staff):
    request = staff_request_file(actor=staff.boss, user=staff.rev, add_posts=["approver"])
    client = login(staff.boss)
    assert "Another manager decides this one." in client.get(URL).content.decode()

    response = client.post(action(request.pk, "approve"), {})

    assert response.status_code == 302
    assert any("separation of duty" in str(m) for m in get_messages(response.wsgi_request))
    assert User.objects.get(pk=staff.rev.pk).posts == {"reviewer"}
    request.refresh_from_db()
    assert request.state == "pending"
    refusal = RefusedAttempt.objects.latest("id")
    assert (refusal.code, refusal.actor, refusal.action) == ("separation_of_duty", staff.boss, "staff_request_approve")


def test_a_second_manager_rejects_with_a_reason(login, staff, grant):
    boss2 = staff_create(username="boss2", posts=["manager"], password=PASSWORD)
    client = login(boss2)

    client.post(action(grant.pk, "reject"), {"note": "岗位不需要"})

    grant.refresh_from_db()
    assert (grant.state, grant.decided_by, grant.decision_note) == ("rejected", boss2, "岗位不需要")
    assert User.objects.get(pk=staff.rev.pk).posts == {"reviewer"}


@pytest.mark.parametrize("who", ["mkt", "appr", "outsider"])
def test_other_posts_are_refused(login, staff, who):
    assert login(getattr(staff, who)).get(URL).status_code == 403


def test_the_page_is_in_the_managers_navigation(login, staff):
    assert 'data-testid="nav-staff-requests"' in login(staff.boss).get("/").content.decode()
    assert 'data-testid="nav-staff-requests"' not in login(staff.mkt).get("/").content.decode()


def test_the_page_speaks_chinese(login, staff, grant, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    client = login(staff.boss)
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "人员变更申请" in html
