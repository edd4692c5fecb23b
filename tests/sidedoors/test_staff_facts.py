"""Side doors to the facts staff administration keeps (SPEC §4, §10 rules 11, 27, 30): a staff member's ID number (the
staff-loan check reads it), posts and approval limit — changed through the admin, the managers' page, the API and the
operator's command, each cell asserting the fact unchanged (or the rule asked again) and the refusal recorded.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from applications.models import Loan, Status
from loancenter.models import AuditEntry, RefusedAttempt, StaffRequest, User
from loancenter.services import staff_create, staff_request_file
from tests.api.conftest import drive, transition_data
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, LoanFactory
from tests.sidedoors.support import admin_form, admin_url, loan_facts, open_step, post_step, refused


def user_change(client, user: User, **typed):
    """The admin's staff change form, opened and posted back as a browser would with ``typed`` typed in."""
    return admin_form(client, admin_url("loancenter_user_change", user.pk), "user_form", **typed)


def powers(user: User) -> tuple:
    user = User.objects.get(pk=user.pk)
    return frozenset(user.posts), user.approval_limit, user.is_active, user.id_number


@pytest.fixture
def staff_loan(staff, product):
    """A loan whose borrower is the general-post colleague ``gen2`` (matched by ID number), at contract signed."""
    customer = CustomerFactory(officer=staff.mkt)
    gen2 = staff_create(username="gen2", posts=["general"], password=PASSWORD, id_number=customer.id_number)
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
    drive(staff, loan, Status.CONTRACT_SIGNED)
    return gen2, loan


# ---------------------------------------------------------------------------------------------------------------
# The staff-loan check (SPEC §4): the ID number it matches


@pytest.mark.sidedoor(rule="sod", path="admin: staff change form (own ID number cleared)")
def test_a_staff_borrower_cannot_clear_their_own_id_number_in_the_admin(client, staff, staff_loan):
    gen2, loan = staff_loan
    client.force_login(gen2)
    before = powers(gen2)

    response = user_change(client, gen2, id_number="")

    assert response.status_code == 302
    assert powers(gen2) == before
    refused(code="separation_of_duty", action="staff_change", actor=gen2)
    assert not AuditEntry.objects.filter(action="staff_id_number").exists()


@pytest.mark.sidedoor(rule="sod", path="admin: staff change form (a colleague's ID number, while they borrow)")
def test_nobody_changes_the_id_number_of_a_staff_borrower_with_a_live_loan(client, staff, staff_loan):
    gen2, loan = staff_loan
    client.force_login(staff.boss)
    before = powers(gen2)

    response = user_change(client, gen2, id_number=CustomerFactory.build().id_number)

    assert response.status_code == 302
    assert powers(gen2) == before
    assert "lift the staff-loan check" in refused(code="staff_party", action="staff_change", actor=staff.boss).detail


@pytest.mark.sidedoor(rule="sod", path="admin: staff change form (the reviewer's ID number set), then prepare_receipt")
def test_a_reviewer_found_to_be_the_borrower_prepares_no_receipt(client, api, staff, draft):
    loan = drive(staff, draft, Status.CONTRACT_SIGNED)
    client.force_login(staff.boss)
    assert user_change(client, staff.rev, id_number=loan.customer.id_number).status_code == 302
    entry = AuditEntry.objects.get(action="staff_id_number")
    assert (entry.actor_id, entry.payload["old"], entry.payload["new"]) == (staff.boss.pk, "", loan.customer.id_number)
    before = loan_facts(loan)

    response = api(staff.rev).post(f"/api/loans/{loan.pk}/transitions/prepare_receipt/",
                                   transition_data(staff, loan, "prepare_receipt"), format="json")

    assert (response.status_code, response.json()["code"]) == (403, "separation_of_duty"), response.json()
    assert loan_facts(loan) == before
    refused(code="separation_of_duty", action="prepare_receipt", loan=loan, actor=staff.rev)


@pytest.mark.sidedoor(rule="sod", path="admin: staff change form (the disburser's ID number set), then the disburse page")
def test_a_disburser_found_to_be_the_borrower_pays_nothing(client, staff, draft):
    loan = drive(staff, draft, Status.READY_TO_DISBURSE)
    client.force_login(staff.disb)
    opened = open_step(client, loan, "disburse")  # the page was open before the ID number was recorded
    client.force_login(staff.boss)
    assert user_change(client, staff.disb, id_number=loan.customer.id_number).status_code == 302
    before = loan_facts(loan)
    client.force_login(staff.disb)

    response = post_step(client, opened, payee_account="6222020200112233445")

    assert response.status_code == 403
    assert loan_facts(loan) == before
    refused(code="separation_of_duty", action="disburse", loan=loan, actor=staff.disb)


@pytest.mark.sidedoor(rule="sod", path="admin: staff change form (a guarantor's ID number given to the approver)")
def test_an_approver_who_guarantees_the_loan_cannot_approve_it(client, api, staff, draft):
    from tests.factories import add_guarantor

    guarantor = CustomerFactory(officer=staff.mkt)
    add_guarantor(draft, guarantor)
    loan = drive(staff, draft, Status.PENDING_APPROVAL)
    client.force_login(staff.boss)
    assert user_change(client, staff.appr, id_number=guarantor.id_number).status_code == 302
    before = loan_facts(loan)

    response = api(staff.appr).post(f"/api/loans/{loan.pk}/transitions/approve/",
                                    transition_data(staff, loan, "approve"), format="json")

    assert (response.status_code, response.json()["code"]) == (403, "separation_of_duty"), response.json()
    assert loan_facts(loan) == before
    refused(code="separation_of_duty", action="approve", loan=loan, actor=staff.appr)


# ---------------------------------------------------------------------------------------------------------------
# Rule 30: posts and limits


@pytest.mark.sidedoor(rule="30", path="admin: staff add form (posts and a limit typed in)")
def test_a_new_account_from_the_admin_holds_nothing_until_another_manager_approves(client, staff):
    client.force_login(staff.gen)

    response = admin_form(client, admin_url("loancenter_user_add"), "user_form", username="newappr",
                          password1="Zx-9v!long-enough", password2="Zx-9v!long-enough", posts=["approver"],
                          approval_limit="999999999.00", reason="新入职")

    assert response.status_code == 302, response.content.decode()[:2000]
    new = User.objects.get(username="newappr")
    assert (new.posts, new.approval_limit) == (frozenset(), None)
    request = StaffRequest.objects.get(user=new)
    assert (request.state, request.add_posts, request.approval_limit, request.filed_by_id) == (
        "pending", ["approver"], Decimal("999999999.00"), staff.gen.pk)


@pytest.mark.sidedoor(rule="30", path="admin: staff request add form")
def test_a_staff_request_cannot_be_written_in_the_admin(client, staff):
    client.force_login(staff.boss)

    response = client.post(admin_url("loancenter_staffrequest_add"), {
        "user": staff.rev.pk, "state": "approved", "add_posts": '["approver"]', "filed_by": staff.gen.pk})

    assert response.status_code == 403
    assert not StaffRequest.objects.exists()
    assert powers(staff.rev)[0] == {"reviewer"}


@pytest.mark.sidedoor(rule="30", path="browser: POST /staff-requests/{id}/approve/ (the person it is about)")
def test_a_manager_never_approves_a_grant_for_themselves_on_the_page(client, staff):
    boss2 = staff_create(username="boss2", posts=["manager"], password=PASSWORD)
    request = staff_request_file(actor=boss2, user=staff.boss, add_posts=["general"], reason="兼任")
    client.force_login(staff.boss)
    before = powers(staff.boss)

    response = client.post(f"/staff-requests/{request.pk}/approve/", {"note": "同意"})

    assert response.status_code == 302
    assert powers(staff.boss) == before
    assert StaffRequest.objects.get(pk=request.pk).state == "pending"
    refused(code="separation_of_duty", action="staff_request_approve", actor=staff.boss)


@pytest.mark.sidedoor(rule="30", path="command: create_staff on an existing username")
def test_the_bootstrap_command_never_changes_an_existing_account(staff):
    before = powers(staff.appr)

    with pytest.raises(CommandError, match="taken"):
        call_command("create_staff", "appr", "--posts", "approver,branch_approver", "--approval-limit", "999999999")

    assert powers(staff.appr) == before
    assert RefusedAttempt.objects.filter(action="create_staff", code="username_taken").exists()


@pytest.mark.sidedoor(rule="30", path="command: create_staff (audited)")
def test_the_bootstrap_command_is_in_the_audit_trail(staff):
    call_command("create_staff", "newrev", "--posts", "reviewer", "--password", "Zx-9v!long-enough")

    entry = AuditEntry.objects.filter(action="staff_create", object_id=str(User.objects.get(username="newrev").pk)).get()
    assert (entry.actor_id, entry.payload["by"], entry.payload["posts"]) == (None, "operator", ["reviewer"])


@pytest.mark.sidedoor(rule="27", path="api: staff request raising the approver's limit (pending), then approve")
def test_a_limit_raise_that_waits_for_a_manager_gives_no_authority(api, staff, product):
    big = LoanFactory(customer=CustomerFactory(officer=staff.mkt, monthly_income=Decimal("100000.00")),
                      product=product, marketing_officer=staff.mkt, amount=Decimal("300000.00"))
    loan = drive(staff, big, Status.PENDING_APPROVAL)
    filed = api(staff.gen).post("/api/staff-requests/", {"user": "appr", "approval_limit": "1000000.00"}, format="json")
    assert filed.status_code == 201, filed.json()
    before = loan_facts(loan)

    response = api(staff.appr).post(f"/api/loans/{loan.pk}/transitions/approve/",
                                    transition_data(staff, loan, "approve"), format="json")

    assert (response.status_code, response.json()["code"]) == (403, "authority_limit"), response.json()
    assert loan_facts(loan) == before
    assert Loan.objects.get(pk=loan.pk).status == Status.PENDING_APPROVAL
    refused(code="authority_limit", action="approve", loan=loan, actor=staff.appr)


@pytest.mark.sidedoor(rule="auth", path="admin: POST /admin/loancenter/user/{id}/password/ (another person's password)")
def test_a_password_set_for_a_colleague_in_the_admin_is_in_the_audit_trail(client, staff):
    client.force_login(staff.gen)
    hashed = User.objects.get(pk=staff.appr.pk).password

    response = admin_form(client, admin_url("auth_user_password_change", staff.appr.pk), "user_form",
                          password1="Zx-9v!long-enough", password2="Zx-9v!long-enough")

    assert response.status_code == 302
    assert User.objects.get(pk=staff.appr.pk).password != hashed
    entry = AuditEntry.objects.get(action="staff_password")
    assert (entry.actor_id, entry.object_id, entry.payload) == (staff.gen.pk, str(staff.appr.pk), {
        "user": "appr", "by": "gen", "usable_password": True, "via": "admin"})
    assert "Zx-9v" not in str(entry.payload) and hashed not in str(entry.payload)


@pytest.mark.sidedoor(rule="30", path="command: seed_demo into a database with real staff")
def test_the_demo_never_adds_its_powerful_accounts_next_to_real_staff(without_personas):
    from demo.loans import DEMO_USERNAMES

    staff_create(username="zhang.wei", posts=["reviewer"], password=PASSWORD, full_name="张伟")
    users = User.objects.count()

    with pytest.raises(CommandError, match="rule 30"):
        call_command("seed_demo")

    assert User.objects.count() == users
    assert not User.objects.filter(username__in=DEMO_USERNAMES).exists()
    assert RefusedAttempt.objects.filter(action="seed_demo", code="real_staff", actor=None).exists()


@pytest.mark.sidedoor(rule="sod", path="api: POST /api/loans/{id}/repayments/ by a staff member who borrows")
def test_a_staff_borrower_cannot_post_a_repayment_to_their_own_loan(api, staff, product):
    from loancenter.lib.dates import today

    customer = CustomerFactory(officer=staff.mkt)
    gen2 = staff_create(username="gen2", posts=["general"], password=PASSWORD, id_number=customer.id_number)
    loan = drive(staff, LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt), Status.ACTIVE)
    before = loan_facts(loan)
    owed = list(Loan.objects.get(pk=loan.pk).installments.order_by("number").values_list("pk", "status", "paid_off_on"))

    response = api(gen2).post(f"/api/loans/{loan.pk}/repayments/", {
        "amount": "1000.00", "paid_on": today().isoformat(), "reference": "SELF-PAY-1"},
        format="json")

    assert (response.status_code, response.json()["code"]) == (403, "separation_of_duty"), response.json()
    assert loan_facts(loan) == before
    assert list(Loan.objects.get(pk=loan.pk).installments.order_by("number").values_list(
        "pk", "status", "paid_off_on")) == owed
    assert not Loan.objects.get(pk=loan.pk).repayments.exists()
    refused(code="separation_of_duty", action="repayment", loan=loan, actor=gen2)


@pytest.mark.sidedoor(rule="sod", path="browser: /archive/items/{id}/unreceive/ by an archivist who borrows")
def test_an_archivist_who_borrows_does_not_touch_their_own_loans_file(client, staff, product):
    from archive.models import ChecklistItem, ItemState
    from archive.services import item_receive
    from loancenter.lib.dates import today

    customer = CustomerFactory(officer=staff.mkt)
    arch2 = staff_create(username="arch2", posts=["archivist"], password=PASSWORD, id_number=customer.id_number)
    loan = drive(staff, LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt), Status.ACTIVE)
    receipt = ChecklistItem.objects.get(loan_file__loan=loan, code="receipt")
    item_receive(item_id=receipt.pk, actor=staff.arch, copy_kind="original", pages=2, received_on=today())
    before = ChecklistItem.objects.filter(pk=receipt.pk).values().get()
    client.force_login(arch2)

    response = client.post(f"/archive/items/{receipt.pk}/unreceive/", {"reason": "误收"})

    assert response.status_code in (302, 403)
    assert ChecklistItem.objects.filter(pk=receipt.pk).values().get() == before
    assert before["state"] == ItemState.ON_FILE
    refused(code="separation_of_duty", action="archive_item_unreceive", loan=loan, actor=arch2)
