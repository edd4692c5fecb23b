"""Staff and posts: the mortgage-clerk exclusion (SPEC §1), Argon2, and the investigator hand-over (rule 7, SPEC §13)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import transaction

from applications.models import Investigation, LoanHandover, Status
from applications.services import loan_complete_investigation, loan_start_investigation, loan_submit
from loancenter import settings as project_settings
from loancenter.handovers import handover_approve, handover_file
from loancenter.lib.dates import today
from loancenter.lib.errors import RuleViolation, SeparationOfDuty
from loancenter.models import AuditEntry, User
from loancenter.services import ensure_post_groups, staff_create, staff_set_posts
from tests.factories import CustomerFactory, LoanFactory


@pytest.mark.parametrize("other", ["reviewer", "approver", "disbursement"])
def test_staff_create_refuses_mortgage_clerk_with_conflicting_post(db, other):
    with pytest.raises(RuleViolation) as exc:
        staff_create(username="newclerk", posts=["mortgage_clerk", other], password="x-pass-123")
    assert exc.value.code == "post_conflict"
    assert "mortgage clerk" in exc.value.message
    assert not User.objects.filter(username="newclerk").exists()


def test_mortgage_clerk_may_hold_a_non_conflicting_post(db):
    user = staff_create(username="newclerk", posts=["mortgage_clerk", "archivist"], password="x-pass-123")
    assert user.posts == {"mortgage_clerk", "archivist"}


@pytest.mark.parametrize("other", ["reviewer", "approver", "disbursement"])
def test_staff_set_posts_refuses_mortgage_clerk_with_conflicting_post(db, other):
    user = staff_create(username="newclerk", posts=["mortgage_clerk"], password="x-pass-123")
    audits = AuditEntry.objects.count()
    with pytest.raises(RuleViolation) as exc:
        staff_set_posts(user=user, posts=["mortgage_clerk", other])
    assert exc.value.code == "post_conflict"
    user = User.objects.get(pk=user.pk)
    assert user.posts == {"mortgage_clerk"}
    assert AuditEntry.objects.count() == audits


def test_unknown_post_is_refused(db):
    with pytest.raises(RuleViolation) as exc:
        staff_create(username="x", posts=["janitor"])
    assert exc.value.code == "unknown_post"


@pytest.mark.parametrize("other", ["reviewer", "approver", "disbursement"])
def test_adding_a_conflicting_group_directly_is_stopped_by_the_signal(db, other):
    ensure_post_groups()
    clerk = staff_create(username="newclerk", posts=["mortgage_clerk"])
    group = Group.objects.get(name=other)
    with pytest.raises(RuleViolation), transaction.atomic():  # as the admin's request would roll back
        clerk.groups.add(group)
    assert set(User.objects.get(pk=clerk.pk).groups.values_list("name", flat=True)) == {"mortgage_clerk"}


def test_adding_mortgage_clerk_to_a_reviewer_directly_is_stopped_by_the_signal(db):
    ensure_post_groups()
    reviewer = staff_create(username="newrev", posts=["reviewer"])
    group = Group.objects.get(name="mortgage_clerk")
    with pytest.raises(RuleViolation), transaction.atomic():
        reviewer.groups.add(group)
    assert set(User.objects.get(pk=reviewer.pk).groups.values_list("name", flat=True)) == {"reviewer"}


def test_new_password_is_hashed_with_argon2_in_production_settings(db, settings):
    # The autouse fixture switched to MD5 for speed; restore the production list for this test.
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    user = staff_create(username="argo", posts=["reviewer"], password="s3cret-pass-1")
    user.refresh_from_db()
    assert user.password.startswith("argon2")
    assert user.check_password("s3cret-pass-1")
    assert not user.check_password("wrong")


# --- Rule 7: hand-over ------------------------------------------------------------------------------------------


@pytest.fixture
def investigating(staff, product):
    """Two loans under investigation by ``inv``."""
    loans = []
    for _ in range(2):
        loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
        loan_submit(loan_id=loan.pk, actor=staff.mkt)
        loan_start_investigation(loan_id=loan.pk, actor=staff.inv)
        loans.append(loan)
    return loans


def _hand_over(staff, from_user, to_user):
    """Rule 7 through SPEC §13's hand-over: filed by the general post, approved by the manager."""
    handover = handover_file(actor=staff.gen, from_user=from_user, to_user=to_user, reason="岗位调整")
    return handover_approve(actor=staff.boss, handover_id=handover.pk)


@pytest.mark.sidedoor(rule="13-open-work", path="service: staff_set_posts (remove the investigator post)")
def test_investigator_with_open_investigations_cannot_leave_the_post_before_a_hand_over(staff, investigating):
    with pytest.raises(RuleViolation) as exc:
        staff_set_posts(user=staff.inv, posts=["reviewer"], actor=staff.boss)
    assert exc.value.code == "open_work"
    assert "open investigations × 2" in exc.value.message
    assert investigating[0].application_no in exc.value.message
    assert User.objects.get(pk=staff.inv.pk).posts == {"investigator"}
    assert set(Investigation.objects.values_list("assignee", flat=True)) == {staff.inv.pk}
    assert not LoanHandover.objects.exists()


def test_after_the_hand_over_the_investigator_leaves_the_post_and_the_successor_has_the_rounds(staff, investigating):
    _hand_over(staff, staff.inv, staff.inv2)
    staff_set_posts(user=staff.inv, posts=["reviewer"], actor=staff.boss)

    assert User.objects.get(pk=staff.inv.pk).posts == {"reviewer"}
    assert set(Investigation.objects.values_list("assignee", flat=True)) == {staff.inv2.pk}
    handovers = LoanHandover.objects.order_by("loan_id")
    assert [h.loan_id for h in handovers] == sorted(loan.pk for loan in investigating)
    for handover in handovers:
        assert (handover.role, handover.from_user, handover.to_user, handover.by) == (
            "investigator", staff.inv, staff.inv2, staff.boss
        )
    assert AuditEntry.objects.filter(action="handover", loan__isnull=False).count() == 2
    for loan in investigating:
        loan.refresh_from_db()
        assert loan.status == Status.INVESTIGATING  # the work continues, only the person changes


def test_completed_investigations_are_not_handed_over(staff, investigating):
    done = investigating[0]
    loan_complete_investigation(loan_id=done.pk, actor=staff.inv, investigators=[staff.inv], opinion="decline",
                                field_visit_on=today(), comment="收入无法核实")
    _hand_over(staff, staff.inv, staff.inv2)
    assert list(LoanHandover.objects.values_list("loan_id", flat=True)) == [investigating[1].pk]
    assert done.investigations.get().assignee == staff.inv


def test_investigator_without_open_work_leaves_the_post_freely(staff):
    staff_set_posts(user=staff.inv, posts=["reviewer"], actor=staff.boss)
    assert User.objects.get(pk=staff.inv.pk).posts == {"reviewer"}


def test_successor_must_hold_the_investigator_post(staff, investigating):
    with pytest.raises(RuleViolation) as exc:
        handover_file(actor=staff.gen, from_user=staff.inv, to_user=staff.rev, reason="岗位调整")
    assert exc.value.code == "receiver_post"
    assert User.objects.get(pk=staff.inv.pk).posts == {"investigator"}
    assert not LoanHandover.objects.exists()


def test_successor_who_is_the_loans_marketing_officer_is_refused(staff, investigating):
    mkt_inv = staff_create(username="mktinv", posts=["marketing", "investigator"])
    loan = LoanFactory(customer=CustomerFactory(officer=mkt_inv), product=investigating[0].product,
                       marketing_officer=mkt_inv)
    loan_submit(loan_id=loan.pk, actor=mkt_inv)
    loan_start_investigation(loan_id=loan.pk, actor=staff.inv)
    handover = handover_file(actor=staff.gen, from_user=staff.inv, to_user=mkt_inv, reason="岗位调整")
    with pytest.raises(SeparationOfDuty):
        handover_approve(actor=staff.boss, handover_id=handover.pk)
    assert set(Investigation.objects.values_list("assignee", flat=True)) == {staff.inv.pk}
    assert not LoanHandover.objects.exists()
