"""Issue 15 part 10: the loan page says where the loan stands, who acts next and by when; waiting times only where
someone has to act, in one format; the audit trail in a tab of its own."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from applications.models import Loan, Status
from loancenter.lib.dates import add_working_days, format_duration

pytestmark = pytest.mark.django_db


def lifecycle_of(html: str) -> str:
    return re.search(r'<section class="lifecycle".*?</section>', html, re.S).group(0)


def test_a_loan_waiting_for_approval_names_the_step_the_post_and_the_wait(login, staff, flow, draft):
    loan = flow.advance(draft, Status.PENDING_APPROVAL)
    Loan.objects.filter(pk=loan.pk).update(status_changed_at=timezone.now() - timedelta(days=2, hours=3))
    part = lifecycle_of(login(staff.mkt).get(reverse("loan-detail", args=[loan.pk])).content.decode())
    assert re.search(r'class="done" data-status="under_review"', part)
    assert re.search(r'class="now" data-status="pending_approval" aria-current="step"', part)
    assert re.search(r'class="todo" data-status="active"', part)
    assert 'data-status="collateral_registered"' not in part  # an unsecured loan registers no collateral
    assert "Approve — Approver (center head)" in part
    assert "Waiting in this state for 2 days 3 hours" in part


def test_a_draft_names_its_own_marketing_officer(login, staff, draft):
    part = lifecycle_of(login(staff.mkt).get(reverse("loan-detail", args=[draft.pk])).content.decode())
    assert "Submit — Marketing (account manager) (mkt)" in part


def test_an_active_loan_shows_no_waiting_time_anywhere(login, staff, flow, draft):
    loan = flow.advance(draft, Status.ACTIVE)
    client = login(staff.boss)
    part = lifecycle_of(client.get(reverse("loan-detail", args=[loan.pk])).content.decode())
    assert "Waiting" not in part and "Repaying by its schedule" in part
    listing = client.get(reverse("loan-list")).content.decode()
    row = re.search(rf'<tr data-loan="{loan.pk}">.*?</tr>', listing, re.S).group(0)
    assert "hour" not in row and "day" not in row and "—" in row


def test_the_customer_notice_deadline_is_shown_until_the_customer_is_notified(login, staff, flow, draft):
    loan = flow.advance(draft, Status.APPROVED)
    client = login(staff.mkt)
    part = lifecycle_of(client.get(reverse("loan-detail", args=[loan.pk])).content.decode())
    due = add_working_days(timezone.localtime(loan.decided_at).date(), 3)
    assert "Notify the customer of the decision (3 working days)" in part and f"{due:%Y-%m-%d}" in part
    Loan.objects.filter(pk=loan.pk).update(customer_notified_on=due)
    part = lifecycle_of(client.get(reverse("loan-detail", args=[loan.pk])).content.decode())
    assert 'data-testid="deadline"' not in part


def test_a_rejected_loan_ends_off_the_main_line(login, staff, flow, draft):
    from review.services import loan_reject

    loan = flow.advance(draft, Status.PENDING_APPROVAL)
    loan_reject(loan_id=loan.pk, actor=staff.appr, reason="负债过高")
    part = lifecycle_of(login(staff.mkt).get(reverse("loan-detail", args=[loan.pk])).content.decode())
    assert re.search(r'class="off" data-status="rejected" aria-current="step"', part)
    assert 'data-status="active"' not in part and "The loan is closed" in part


def test_the_audit_trail_has_its_own_tab(login, staff, draft):
    html = login(staff.mkt).get(reverse("loan-detail", args=[draft.pk])).content.decode()
    assert 'href="#audit-trail" data-tab="audit-trail"' in html
    assert re.search(r'<section id="audit-trail" class="tab-panel".*?data-testid="audit"', html, re.S)


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(minutes=20), "under an hour"), (timedelta(hours=5), "5 hours"), (timedelta(days=1), "1 day"),
    (timedelta(days=4, hours=2, minutes=59), "4 days 2 hours"),
])
def test_one_duration_format(delta, text):
    assert format_duration(delta) == text
