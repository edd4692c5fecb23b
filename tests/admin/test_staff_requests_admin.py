"""Rule 30 in the admin: the staff change form files a four-eyes request; nobody changes their own powers.

Finding 9 (issue 13): a `general` user gave themselves the `approver` post with a 999,999,999 limit in the admin and
approved a 900,000 loan that needed the branch.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from applications.models import Status
from loancenter.lib.errors import DomainError
from loancenter.models import AuditEntry, RefusedAttempt, StaffRequest, User
from loancenter.services import staff_request_approve
from loancenter.transitions import perform
from tests.conftest import payloads
from tests.factories import CustomerFactory, LoanFactory, ProductFactory


def change_url(user: User) -> str:
    return reverse("admin:loancenter_user_change", args=[user.pk])


def change_data(client, user: User, **overrides) -> dict:
    """The change form as the admin renders it for ``user``, with ``overrides`` typed in."""
    form = client.get(change_url(user)).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled or name in ("password",):
            continue
        value = form.initial.get(name, field.initial)
        if value is None:
            value = ""
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = value
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def power(user: User) -> tuple:
    user = User.objects.get(pk=user.pk)
    return (frozenset(user.posts), user.approval_limit, user.is_active)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def big_loan(staff, flow):
    """A 900,000 loan pending approval: above the approver's 200,000, so it needs the branch."""
    product = ProductFactory(code="big", max_amount=Decimal("1000000.00"))
    customer = CustomerFactory(officer=staff.mkt, monthly_income=Decimal("100000.00"))
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, amount=Decimal("900000.00"))
    return flow.advance(loan, Status.PENDING_APPROVAL)


@pytest.mark.sidedoor(rule="30", path="admin: staff change form (own posts and limit)")
def test_finding_9_general_cannot_grant_themselves_approver_in_the_admin(client, staff, big_loan):
    client.force_login(staff.gen)
    before = power(staff.gen)
    audits = AuditEntry.objects.count()

    response = client.post(change_url(staff.gen), change_data(
        client, staff.gen, posts=["general", "approver"], approval_limit="999999999"))

    assert response.status_code == 200  # the form again, with the refusal on it
    form = response.context["adminform"].form
    assert "separation of duty" in " ".join(form.non_field_errors())
    assert power(staff.gen) == before == (frozenset({"general"}), None, True)
    assert not staff.gen.staff_requests.exists()
    assert AuditEntry.objects.count() == audits
    refusal = RefusedAttempt.objects.get(actor=staff.gen)
    assert refusal.code == "separation_of_duty"

    # The 900,000 loan still needs the branch: gen cannot approve it, the approver is above their limit.
    data = payloads(staff, big_loan)["approve"]
    for person, code in ((staff.gen, "post_required"), (staff.appr, "authority_limit")):
        with pytest.raises(DomainError) as exc:
            perform("approve", loan_id=big_loan.pk, actor=User.objects.get(pk=person.pk), data=data)
        assert exc.value.code == code
    big_loan.refresh_from_db()
    assert big_loan.status == Status.PENDING_APPROVAL


@pytest.mark.sidedoor(rule="30", path="admin: staff change form (another person's posts and limit)")
def test_general_granting_a_colleague_approver_files_a_request_that_changes_nothing_yet(client, staff):
    client.force_login(staff.gen)
    before = power(staff.rev)

    response = client.post(change_url(staff.rev), change_data(
        client, staff.rev, posts=["reviewer", "approver"], approval_limit="999999999", reason="轮岗"))

    assert response.status_code == 302
    assert any("waits for another manager" in m for m in messages_of(response))
    assert power(staff.rev) == before  # nothing takes effect before a manager approves
    request = staff.rev.staff_requests.get()
    assert (request.state, request.filed_by, request.add_posts, request.approval_limit) == (
        "pending", staff.gen, ["approver"], Decimal("999999999.00"))
    entry = AuditEntry.objects.get(action="staff_request_file")
    assert entry.actor == staff.gen and entry.object_id == str(request.pk)
    assert entry.payload["add_posts"] == ["approver"] and entry.payload["approval_limit"] == "999999999.00"
    # The filer cannot make it take effect: general never decides, and the refusal is recorded.
    with pytest.raises(DomainError) as exc:
        staff_request_approve(request_id=request.pk, actor=staff.gen)
    assert exc.value.code == "post_required"
    assert power(staff.rev) == before
    assert RefusedAttempt.objects.get(actor=staff.gen).action == "staff_request_approve"


@pytest.mark.sidedoor(rule="30", path="admin: staff change form (a manager's own posts and limit)")
def test_a_manager_cannot_change_their_own_powers_in_the_admin_either(client, staff):
    client.force_login(staff.boss)

    response = client.post(change_url(staff.boss), change_data(
        client, staff.boss, posts=["manager", "approver", "branch_approver"], approval_limit="999999999"))

    assert response.status_code == 200
    assert power(staff.boss) == (frozenset({"manager"}), None, True)
    assert not StaffRequest.objects.exists()
    assert RefusedAttempt.objects.get(actor=staff.boss).code == "separation_of_duty"


def test_editing_ones_own_name_is_not_a_change_of_powers(client, staff):
    client.force_login(staff.gen)

    response = client.post(change_url(staff.gen), change_data(client, staff.gen, first_name="综合岗小王"))

    assert response.status_code == 302
    assert User.objects.get(pk=staff.gen.pk).first_name == "综合岗小王"
    assert power(staff.gen) == (frozenset({"general"}), None, True)
    assert not StaffRequest.objects.exists() and not RefusedAttempt.objects.exists()


def test_lowering_in_the_admin_takes_effect_at_once_and_is_audited(client, staff):
    client.force_login(staff.gen)
    data = change_data(client, staff.appr, posts=[], approval_limit="50000", reason="调离审批岗")
    data.pop("is_active")  # the box unticked

    response = client.post(change_url(staff.appr), data)

    assert response.status_code == 302
    assert any("Took effect at once" in m for m in messages_of(response))
    assert power(staff.appr) == (frozenset(), Decimal("50000.00"), False)
    assert not StaffRequest.objects.exists()
    actions = set(AuditEntry.objects.filter(actor=staff.gen, object_id=str(staff.appr.pk)).values_list("action", flat=True))
    assert actions == {"staff_posts", "staff_limit", "staff_active"}


@pytest.mark.sidedoor(rule="30", path="admin: staff change form (re-activation)")
def test_re_activating_in_the_admin_files_a_request(client, staff):
    client.force_login(staff.gen)
    User.objects.filter(pk=staff.mkt2.pk).update(is_active=False)

    response = client.post(change_url(staff.mkt2), change_data(client, staff.mkt2, is_active="on"))

    assert response.status_code == 302
    assert power(staff.mkt2)[2] is False
    request = staff.mkt2.staff_requests.get()
    assert request.activate is True
    with pytest.raises(DomainError):
        staff_request_approve(request_id=request.pk, actor=staff.gen)
    assert power(staff.mkt2)[2] is False
    assert RefusedAttempt.objects.get(actor=staff.gen).code == "post_required"


@pytest.mark.sidedoor(rule="30", path="admin: staff change form (raising another person's limit)")
def test_raising_a_limit_in_the_admin_waits_for_a_manager_who_is_not_the_filer(client, staff):
    client.force_login(staff.boss)
    client.post(change_url(staff.appr), change_data(client, staff.appr, approval_limit="999999999"))
    request = staff.appr.staff_requests.get()
    assert power(staff.appr)[1] == Decimal("200000.00")

    with pytest.raises(DomainError) as exc:
        staff_request_approve(request_id=request.pk, actor=staff.boss)
    assert exc.value.code == "separation_of_duty"
    assert power(staff.appr)[1] == Decimal("200000.00")
    assert RefusedAttempt.objects.get(actor=staff.boss).code == "separation_of_duty"


def test_superuser_status_is_not_edited_in_the_admin(client, staff):
    root = User.objects.create_superuser("root", password="x-very-long-pass")
    client.force_login(root)
    page = client.get(change_url(staff.gen))
    assert page.status_code == 200
    assert b'name="is_superuser"' not in page.content  # shown, not editable
    # A superuser without a post may look but not change staff (the services need the post).
    assert client.post(change_url(staff.gen), {"username": "gen", "is_superuser": "on"}).status_code == 403
    assert not User.objects.get(pk=staff.gen.pk).is_superuser
