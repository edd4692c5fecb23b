"""Deciding staff requests, hand-overs and archive destructions in place (issue 15 part 14): with ``HX-Request`` the
view answers the part of the page the decision changed (the staff requests' tables, the hand-over's page body, the
destruction register's line) with the outcome inside it; without it, the same view adds the message and redirects.
A refused decision (the filer deciding their own request) answers 403 with the reason in the fragment and changes
nothing; the service runs once either way."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from applications.models import Loan
from archive import services as archive_services
from archive.models import Destruction
from loancenter import handovers
from loancenter.lib.dates import today
from loancenter.models import AuditEntry, Handover, RefusedAttempt, StaffRequest, User
from loancenter.services import staff_create, staff_request_file
from tests.archive.conftest import item, tick
from tests.conftest import PASSWORD
from tests.organisation.test_handover import book  # noqa: F401  (what mkt holds: customers, loans, a case)
from tests.support.forms import rendered_forms

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def form_posting_to(client, url: str, end: str):
    (form,) = [f for f in rendered_forms(client.get(url).content) if f.action.endswith(end)]
    return form


def is_fragment(html: str, starts: str) -> bool:
    return html.lstrip().startswith(starts) and "<html" not in html and "<nav" not in html


# ---------------------------------------------------------------------------------------------------------------
# Staff requests (rule 30)


@pytest.fixture
def grant(staff):
    return staff_request_file(actor=staff.gen, user=staff.rev, add_posts=["approver"], approval_limit=Decimal("300000"),
                              reason="轮岗")


def test_a_staff_request_approved_with_htmx_answers_the_tables_and_takes_effect_once(client, staff, grant):
    client.force_login(staff.boss)
    approve = form_posting_to(client, reverse("staff-requests"), f"/{grant.pk}/approve/")
    assert approve.attrs.get("hx-post") == approve.action and approve.attrs.get("hx-target") == "#staff-requests-body"
    data = {**approve.data, "note": ["同意"]}

    response = client.post(approve.action, data, headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert is_fragment(html, '<div id="staff-requests-body"')
    assert 'data-testid="inline-notice"' in html and "Request approved: it has taken effect." in html
    assert f'data-testid="approve-{grant.pk}"' not in html and "No staff request is waiting." in html
    assert f'<tr data-request="{grant.pk}">' in html  # now among the decided ones
    user = User.objects.get(pk=staff.rev.pk)
    assert user.posts == {"reviewer", "approver"} and user.approval_limit == Decimal("300000.00")
    assert AuditEntry.objects.filter(action="staff_request_approve").count() == 1
    assert not list(client.get(reverse("home")).context["messages"])  # no message left for a later page


def test_the_same_staff_decision_without_javascript_redirects(client, staff, grant):
    client.force_login(staff.boss)
    response = client.post(reverse("staff-request-action", args=[grant.pk, "reject"]), {"note": "岗位不需要"})
    assert response.status_code == 302 and response["Location"] == reverse("staff-requests")
    grant.refresh_from_db()
    assert grant.state == StaffRequest.State.REJECTED
    assert "Request rejected: nothing changed." in client.get(response["Location"]).content.decode()


def test_the_filer_deciding_their_own_staff_request_in_place_gets_403_and_the_reason(client, staff):
    own = staff_request_file(actor=staff.boss, user=staff.rev, add_posts=["approver"])
    client.force_login(staff.boss)

    response = client.post(reverse("staff-request-action", args=[own.pk, "approve"]), {"note": ""}, headers=HTMX)

    assert response.status_code == 403
    html = response.content.decode()
    assert is_fragment(html, '<div id="staff-requests-body"')
    assert 'class="msg msg-error"' in html and "separation of duty" in html
    own.refresh_from_db()
    assert own.state == StaffRequest.State.PENDING
    assert User.objects.get(pk=staff.rev.pk).posts == {"reviewer"}
    assert RefusedAttempt.objects.latest("id").code == "separation_of_duty"
    assert not AuditEntry.objects.filter(action="staff_request_approve").exists()


# ---------------------------------------------------------------------------------------------------------------
# Hand-overs (SPEC §13)


def test_a_hand_over_approved_with_htmx_answers_its_page_body_and_moves_the_work(client, staff, book):  # noqa: F811
    handover = handovers.handover_file(actor=staff.gen, from_user=staff.mkt, to_user=staff.mkt2, reason="调岗")
    client.force_login(staff.boss)
    approve = form_posting_to(client, reverse("handover", args=[handover.pk]), "/approve/")
    assert approve.attrs.get("hx-post") == approve.action and approve.attrs.get("hx-target") == "#handover-body"

    response = client.post(approve.action, approve.data, headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert is_fragment(html, '<div id="handover-body"')
    assert "Hand-over approved: the work has moved." in html and 'data-testid="handover-approve"' not in html
    handover.refresh_from_db()
    assert handover.status == Handover.Status.APPROVED and handover.decided_by == staff.boss
    assert Loan.objects.get(pk=book["draft"].pk).marketing_officer == staff.mkt2
    assert AuditEntry.objects.filter(action="handover_approve").count() == 1


def test_the_same_hand_over_decision_without_javascript_redirects(client, staff, book):  # noqa: F811
    handover = handovers.handover_file(actor=staff.gen, from_user=staff.mkt, to_user=staff.mkt2, reason="调岗")
    client.force_login(staff.boss)
    response = client.post(reverse("handover-action", args=[handover.pk, "reject"]), {"note": "人手不足"})
    assert response.status_code == 302 and response["Location"] == reverse("handover", args=[handover.pk])
    handover.refresh_from_db()
    assert handover.status == Handover.Status.REJECTED
    assert "Hand-over rejected: nothing moved." in client.get(response["Location"]).content.decode()
    assert Loan.objects.get(pk=book["draft"].pk).marketing_officer == staff.mkt


def test_the_filer_approving_their_own_hand_over_in_place_gets_403_and_the_reason(client, staff, book):  # noqa: F811
    handover = handovers.handover_file(actor=staff.boss, from_user=staff.mkt, to_user=staff.mkt2, reason="调岗")
    client.force_login(staff.boss)

    response = client.post(reverse("handover-action", args=[handover.pk, "approve"]), {"note": ""}, headers=HTMX)

    assert response.status_code == 403
    html = response.content.decode()
    assert is_fragment(html, '<div id="handover-body"')
    assert 'class="msg msg-error"' in html and "separation of duty" in html
    handover.refresh_from_db()
    assert handover.is_pending
    assert Loan.objects.get(pk=book["draft"].pk).marketing_officer == staff.mkt


# ---------------------------------------------------------------------------------------------------------------
# Archive destructions (past the retention period, four-eyes)


@pytest.fixture
def proposed(staff, settled):
    """A settled loan's application form, eleven years on: past its retention, proposed for destruction by ``arch``."""
    it = tick(staff, item(settled, "loan_application"))
    with time_machine.travel(timezone.now() + timedelta(days=365 * 11)):
        destruction = archive_services.destruction_propose(item_id=it.pk, actor=staff.arch, reason="保管期满")
        yield destruction


def approve_data(staff, destruction) -> dict:
    return {"version": str(destruction.version), "witness": str(staff.gen.pk), "destroyed_on": today().isoformat(),
            "method": "Shredded"}


def test_a_destruction_approved_with_htmx_answers_the_register_line(client, staff, proposed):
    client.force_login(staff.boss)
    approve = form_posting_to(client, reverse("archive:destructions"), f"/{proposed.pk}/approve/")
    assert approve.attrs.get("hx-post") == approve.action and approve.attrs.get("hx-target") == "closest tr"

    response = client.post(approve.action, {**approve.data, **approve_data(staff, proposed)}, headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert is_fragment(html, f'<tr data-destruction="{proposed.pk}" data-status="destroyed"')
    assert "Destroyed and recorded in the destruction register." in html
    assert 'data-testid="destruction-approve"' not in html
    proposed.refresh_from_db()
    assert proposed.status == "destroyed" and proposed.decided_by == staff.boss and proposed.witness == staff.gen


def test_the_same_destruction_decision_without_javascript_redirects(client, staff, proposed):
    client.force_login(staff.boss)
    response = client.post(reverse("archive:destruction-decide", args=[proposed.pk, "refuse"]),
                           {"version": str(proposed.version), "reason": "仍在诉讼中"})
    assert response.status_code == 302 and response["Location"] == reverse("archive:destructions")
    proposed.refresh_from_db()
    assert proposed.status == "refused"
    assert "Destruction refused." in client.get(response["Location"]).content.decode()


def test_the_proposer_approving_their_own_destruction_in_place_gets_403_and_the_reason(client, staff, proposed):
    client.force_login(staff.arch)

    response = client.post(reverse("archive:destruction-decide", args=[proposed.pk, "approve"]),
                           approve_data(staff, proposed), headers=HTMX)

    assert response.status_code == 403
    html = response.content.decode()
    assert is_fragment(html, f'<tr data-destruction="{proposed.pk}" data-status="proposed"')
    assert 'class="msg msg-error"' in html and "separation of duty" in html
    assert Destruction.objects.get(pk=proposed.pk).status == "proposed"
    assert not Destruction.objects.filter(pk=proposed.pk, decided_by__isnull=False).exists()


def test_a_destruction_form_error_in_place_is_400_with_the_field_named(client, staff, proposed):
    client.force_login(staff.boss)
    response = client.post(reverse("archive:destruction-decide", args=[proposed.pk, "refuse"]),
                           {"version": str(proposed.version), "reason": ""}, headers=HTMX)
    assert response.status_code == 400
    assert "Reason: This field is required." in response.content.decode()
    assert Destruction.objects.get(pk=proposed.pk).status == "proposed"


def test_a_second_manager_sees_no_buttons_in_the_fragment_once_decided(client, staff, proposed):
    boss2 = staff_create(username="boss2", posts=["manager"], password=PASSWORD)
    client.force_login(boss2)
    archive_services.destruction_refuse(destruction_id=proposed.pk, actor=staff.boss, reason="仍在诉讼中")
    response = client.post(reverse("archive:destruction-decide", args=[proposed.pk, "approve"]),
                           approve_data(staff, proposed), headers=HTMX)  # the version the page showed: stale now
    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-status="refused"' in html and 'data-testid="destruction-approve"' not in html
    assert Destruction.objects.get(pk=proposed.pk).status == "refused"
