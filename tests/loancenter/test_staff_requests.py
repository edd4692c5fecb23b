"""Rule 30 in the domain layer: staff administration is four-eyes (loancenter.services, loancenter.rules).

Granting a post, raising an approval limit or re-activating an account is a StaffRequest filed by `general` or
`manager` and approved by another `manager`; lowering takes effect at once; nobody files or decides a request about
themselves; every step is in the audit trail and every refusal in RefusedAttempt.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from applications.models import Investigation, LoanHandover
from applications.services import loan_start_investigation, loan_submit
from loancenter.handovers import handover_approve, handover_file
from loancenter.lib.errors import DomainError, SeparationOfDuty
from loancenter.models import AuditEntry, RefusedAttempt, StaffRequest, User
from loancenter.rules import UNCHANGED, StaffPowers, check_maker_checker, plan_staff_change
from loancenter.services import (
    staff_change,
    staff_create,
    staff_request_approve,
    staff_request_file,
    staff_request_reject,
    staff_set_posts,
)
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, LoanFactory

D = Decimal


def powers(user: User) -> tuple:
    user = User.objects.get(pk=user.pk)
    return (frozenset(user.posts), user.approval_limit, user.is_active)


@pytest.fixture
def boss2(staff):
    return staff_create(username="boss2", posts=["manager"], password=PASSWORD, full_name="boss2")


def refused(call, code: str, *, people=(), actor) -> DomainError:
    """``call()`` is refused with ``code``; nobody's powers, no request and no audit row changed; one refusal kept."""
    before = [powers(p) for p in people]
    requests = list(StaffRequest.objects.values_list("id", "state"))
    audits, refusals = AuditEntry.objects.count(), RefusedAttempt.objects.count()
    with pytest.raises(DomainError) as exc:
        call()
    assert exc.value.code == code
    assert [powers(p) for p in people] == before
    assert list(StaffRequest.objects.values_list("id", "state")) == requests
    assert AuditEntry.objects.count() == audits
    assert RefusedAttempt.objects.count() == refusals + 1
    assert RefusedAttempt.objects.latest("id").code == code
    assert RefusedAttempt.objects.latest("id").actor_id == actor.pk
    return exc.value


# --- the pure rules -----------------------------------------------------------------------------------------------


def test_maker_checker_refuses_the_same_person_by_object_or_id(staff):
    with pytest.raises(SeparationOfDuty) as exc:
        check_maker_checker(staff.gen, staff.gen.pk, what="filed this staff request")
    assert exc.value.code == "separation_of_duty"
    assert exc.value.message == "You filed this staff request; someone else must decide it (separation of duty)."
    check_maker_checker(staff.gen, staff.boss, what="x")
    check_maker_checker(None, staff.boss, what="x")


NOW = StaffPowers(frozenset({"approver", "reviewer"}), D("200000.00"), True)


@pytest.mark.parametrize(("change", "lowers", "grants"), [
    ({"posts": {"approver"}}, {"remove_posts": frozenset({"reviewer"})}, {}),
    ({"posts": {"approver", "reviewer", "archivist"}}, {}, {"add_posts": frozenset({"archivist"})}),
    ({"posts": {"approver", "archivist"}}, {"remove_posts": frozenset({"reviewer"})},
     {"add_posts": frozenset({"archivist"})}),
    ({"approval_limit": D("100000.00")}, {"lower_limit": D("100000.00")}, {}),
    ({"approval_limit": D("999999999.00")}, {}, {"new_limit": D("999999999.00")}),
    # Emptied: no authority for an approver, but no ceiling for a branch approver: a grant either way.
    ({"approval_limit": None}, {}, {"clear_limit": True}),
    ({"is_active": False}, {"deactivate": True}, {}),
    ({"posts": {"approver", "reviewer"}, "approval_limit": D("200000.00"), "is_active": True}, {}, {}),
])
def test_a_change_splits_into_lowering_now_and_granting_later(change, lowers, grants):
    plan = plan_staff_change(NOW, **change)
    assert {k: getattr(plan, k) for k in lowers} == lowers and plan.lowers == bool(lowers)
    assert {k: getattr(plan, k) for k in grants} == grants and plan.grants == bool(grants)


def test_a_limit_where_there_was_none_and_re_activation_are_grants():
    none = StaffPowers(frozenset(), None, False)
    assert plan_staff_change(none, approval_limit=D("1.00")).new_limit == D("1.00")
    assert plan_staff_change(none, is_active=True).activate
    assert not plan_staff_change(none, approval_limit=UNCHANGED).grants


# --- filing -------------------------------------------------------------------------------------------------------


@pytest.mark.sidedoor(rule="30", path="service: staff_request_file (about oneself)")
@pytest.mark.parametrize("who", ["gen", "boss"])
def test_nobody_files_a_grant_for_themselves(staff, who):
    person = getattr(staff, who)
    error = refused(lambda: staff_request_file(actor=person, user=person, add_posts=["approver"],
                                               approval_limit=D("999999999")),
                    "separation_of_duty", people=[person], actor=person)
    assert "your own posts, approval limit or account" in error.message


@pytest.mark.sidedoor(rule="30", path="service: staff_change (own posts and limit)")
def test_nobody_changes_their_own_powers_even_downwards(staff):
    for change in ({"posts": ["general", "approver"]}, {"posts": []}, {"approval_limit": D("1")},
                   {"is_active": False}):
        refused(lambda change=change: staff_change(actor=staff.gen, user=staff.gen, **change),
                "separation_of_duty", people=[staff.gen], actor=staff.gen)


@pytest.mark.parametrize("who", ["mkt", "appr", "rev", "outsider"])
def test_only_general_and_manager_file_staff_requests(staff, who):
    actor = getattr(staff, who)
    refused(lambda: staff_request_file(actor=actor, user=staff.inv, add_posts=["reviewer"]), "post_required",
            people=[staff.inv], actor=actor)


def test_a_grant_changes_nothing_until_approved_and_is_audited(staff):
    before = powers(staff.rev)

    request = staff_request_file(actor=staff.gen, user=staff.rev, add_posts=["approver"],
                                 approval_limit=D("300000"), reason="轮岗")

    assert powers(staff.rev) == before
    assert (request.state, request.filed_by, request.add_posts, request.change_limit, request.approval_limit) == (
        "pending", staff.gen, ["approver"], True, D("300000.00"))
    assert request.before == {"posts": ["reviewer"], "approval_limit": None, "is_active": True,
                              "unit": "CENTER"}
    entry = AuditEntry.objects.get(action="staff_request_file")
    assert (entry.actor, entry.object_type, entry.object_id, entry.reason) == (
        staff.gen, "loancenter.staffrequest", str(request.pk), "轮岗")
    assert entry.payload["add_posts"] == ["approver"] and entry.payload["approval_limit"] == "300000.00"


@pytest.mark.sidedoor(rule="post_combination", path="service: staff_request_file")
@pytest.mark.parametrize("other", ["reviewer", "approver", "disbursement"])
def test_the_post_combination_is_checked_when_filed(staff, other):
    refused(lambda: staff_request_file(actor=staff.gen, user=staff.clerk, add_posts=[other]), "post_conflict",
            people=[staff.clerk], actor=staff.gen)


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"add_posts": ["janitor"]}, "unknown_post"),
    ({"add_posts": ["reviewer"]}, "not_a_grant"),  # already held
    ({"approval_limit": D("-1")}, "approval_limit"),
    ({"activate": True}, "not_a_grant"),  # already active
    ({}, "no_change"),
])
def test_a_request_that_grants_nothing_is_a_400_with_its_code(staff, kwargs, code):
    error = refused(lambda: staff_request_file(actor=staff.gen, user=staff.rev, **kwargs), code,
                    people=[staff.rev], actor=staff.gen)
    assert error.status == 400


def test_a_lower_limit_is_not_a_grant(staff):
    refused(lambda: staff_request_file(actor=staff.gen, user=staff.appr, approval_limit=D("1000")), "not_a_grant",
            people=[staff.appr], actor=staff.gen)


def test_one_pending_request_per_person(staff):
    staff_request_file(actor=staff.gen, user=staff.rev, add_posts=["approver"])
    error = refused(lambda: staff_request_file(actor=staff.boss, user=staff.rev, add_posts=["archivist"]),
                    "request_pending", people=[staff.rev], actor=staff.boss)
    assert error.status == 409


# --- deciding -----------------------------------------------------------------------------------------------------


@pytest.fixture
def grant(staff):
    """gen asks for rev to become approver with 300,000."""
    return staff_request_file(actor=staff.gen, user=staff.rev, add_posts=["approver"], approval_limit=D("300000"))


def test_another_manager_approves_and_the_grant_takes_effect_with_its_audit_trail(staff, grant):
    staff_request_approve(request_id=grant.pk, actor=staff.boss, note="同意")

    assert powers(staff.rev) == (frozenset({"reviewer", "approver"}), D("300000.00"), True)
    grant.refresh_from_db()
    assert (grant.state, grant.decided_by, grant.decision_note) == ("approved", staff.boss, "同意")
    assert grant.applied == {"posts": {"old": ["reviewer"], "new": ["approver", "reviewer"]},
                             "approval_limit": {"old": None, "new": "300000.00"}}
    trail = list(AuditEntry.objects.filter(action__startswith="staff_").exclude(action="staff_create")
                 .order_by("id").values_list("action", "actor__username", "object_id"))
    rev, req = str(staff.rev.pk), str(grant.pk)
    assert trail[-4:] == [("staff_request_file", "gen", req), ("staff_posts", "boss", rev),
                          ("staff_limit", "boss", rev), ("staff_request_approve", "boss", req)]
    limit = AuditEntry.objects.get(action="staff_limit")
    assert limit.payload == {"old": None, "new": "300000.00", "request": grant.pk, "via": "request"}


@pytest.mark.sidedoor(rule="30", path="service: staff_request_approve (the filer)")
def test_the_filer_never_approves_their_own_request(staff, boss2):
    request = staff_request_file(actor=staff.boss, user=staff.rev, add_posts=["approver"])
    refused(lambda: staff_request_approve(request_id=request.pk, actor=staff.boss), "separation_of_duty",
            people=[staff.rev], actor=staff.boss)
    refused(lambda: staff_request_reject(request_id=request.pk, actor=staff.boss, note="撤回"), "separation_of_duty",
            people=[staff.rev], actor=staff.boss)
    staff_request_approve(request_id=request.pk, actor=boss2)
    assert powers(staff.rev)[0] == {"reviewer", "approver"}


@pytest.mark.sidedoor(rule="30", path="service: staff_request_approve (the person it is about)")
def test_a_manager_never_approves_a_grant_for_themselves(staff, boss2):
    request = staff_request_file(actor=staff.gen, user=boss2, add_posts=["approver"], approval_limit=D("999999999"))
    error = refused(lambda: staff_request_approve(request_id=request.pk, actor=boss2), "separation_of_duty",
                    people=[boss2], actor=boss2)
    assert "your own posts" in error.message


@pytest.mark.parametrize("who", ["gen", "appr", "rev", "mkt"])
def test_only_a_manager_decides(staff, grant, who):
    actor = getattr(staff, who)
    refused(lambda: staff_request_approve(request_id=grant.pk, actor=actor), "post_required",
            people=[staff.rev], actor=actor)


@pytest.mark.parametrize("first", ["approve", "reject"])
def test_deciding_a_request_no_longer_pending_is_a_409(staff, boss2, grant, first):
    if first == "approve":
        staff_request_approve(request_id=grant.pk, actor=staff.boss)
    else:
        staff_request_reject(request_id=grant.pk, actor=staff.boss, note="不需要")
    for call in (lambda: staff_request_approve(request_id=grant.pk, actor=boss2),
                 lambda: staff_request_reject(request_id=grant.pk, actor=boss2, note="x")):
        error = refused(call, "invalid_state", people=[staff.rev], actor=boss2)
        assert error.status == 409


def test_a_rejection_needs_a_reason_and_changes_nothing(staff, grant):
    refused(lambda: staff_request_reject(request_id=grant.pk, actor=staff.boss, note=" "), "note_required",
            people=[staff.rev], actor=staff.boss)
    before = powers(staff.rev)

    staff_request_reject(request_id=grant.pk, actor=staff.boss, note="岗位不需要")

    assert powers(staff.rev) == before
    grant.refresh_from_db()
    assert (grant.state, grant.decided_by, grant.decision_note) == ("rejected", staff.boss, "岗位不需要")
    entry = AuditEntry.objects.get(action="staff_request_reject")
    assert entry.actor == staff.boss and entry.reason == "岗位不需要"


@pytest.mark.sidedoor(rule="post_combination", path="service: staff_request_approve (posts changed since filing)")
def test_the_post_combination_is_checked_again_when_approved(staff):
    request = staff_request_file(actor=staff.gen, user=staff.arch, add_posts=["reviewer"])
    staff_set_posts(user=staff.arch, posts=["archivist", "mortgage_clerk"], actor=None)  # the operator, meanwhile

    refused(lambda: staff_request_approve(request_id=request.pk, actor=staff.boss), "post_conflict",
            people=[staff.arch], actor=staff.boss)
    request.refresh_from_db()
    assert request.state == "pending"


def test_an_emptied_limit_is_a_request_for_a_branch_approver(staff):
    result = staff_change(actor=staff.gen, user=staff.branch, approval_limit=None)

    assert User.objects.get(pk=staff.branch.pk).approval_limit == D("5000000.00")
    assert (result.request.change_limit, result.request.approval_limit) == (True, None)
    staff_request_approve(request_id=result.request.pk, actor=staff.boss)
    assert User.objects.get(pk=staff.branch.pk).approval_limit is None


# --- lowering takes effect at once ----------------------------------------------------------------------------


def test_lowering_takes_effect_at_once_and_is_audited(staff):
    result = staff_change(actor=staff.gen, user=staff.appr, posts=[], approval_limit=D("50000"), is_active=False,
                          reason="调离")

    assert result.request is None
    assert powers(staff.appr) == (frozenset(), D("50000.00"), False)
    entries = {e.action: e for e in AuditEntry.objects.filter(object_id=str(staff.appr.pk), actor=staff.gen)}
    assert entries["staff_posts"].payload == {"old": ["approver"], "new": [], "via": "admin", "reason": "调离"}
    assert entries["staff_limit"].payload == {"old": "200000.00", "new": "50000.00", "via": "admin"}
    assert entries["staff_active"].payload == {"old": True, "new": False, "via": "admin"}


def test_a_mixed_change_lowers_now_and_files_the_grant(staff):
    result = staff_change(actor=staff.gen, user=staff.clerk, posts=["reviewer"])

    assert powers(staff.clerk)[0] == frozenset()  # the clerk post went at once
    assert result.request.add_posts == ["reviewer"]  # no conflict with the post that went
    staff_request_approve(request_id=result.request.pk, actor=staff.boss)
    assert powers(staff.clerk)[0] == {"reviewer"}


def test_re_activation_waits_for_a_manager(staff):
    staff_change(actor=staff.gen, user=staff.mkt2, is_active=False)
    result = staff_change(actor=staff.gen, user=staff.mkt2, is_active=True)

    assert powers(staff.mkt2)[2] is False
    staff_request_approve(request_id=result.request.pk, actor=staff.boss)
    assert powers(staff.mkt2)[2] is True
    assert AuditEntry.objects.get(action="staff_active", payload__new=True).actor == staff.boss


@pytest.fixture
def investigating(staff, product):
    loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
    loan_submit(loan_id=loan.pk, actor=staff.mkt)
    loan_start_investigation(loan_id=loan.pk, actor=staff.inv)
    return loan


@pytest.mark.sidedoor(rule="13-open-work", path="admin/service: staff_change deactivating the account")
def test_an_investigator_with_open_work_is_not_deactivated_before_a_hand_over(staff, investigating):
    refused(lambda: staff_change(actor=staff.gen, user=staff.inv, is_active=False), "open_work",
            people=[staff.inv], actor=staff.gen)

    handover = handover_file(actor=staff.gen, from_user=staff.inv, to_user=staff.inv2, reason="离职")
    handover_approve(actor=staff.boss, handover_id=handover.pk)
    staff_change(actor=staff.gen, user=staff.inv, is_active=False)

    assert powers(staff.inv)[2] is False
    assert Investigation.objects.get(loan=investigating).assignee == staff.inv2
    assert LoanHandover.objects.get(loan=investigating).by == staff.boss
