"""Units (SPEC §13, §16.26): the center, sub-centers, whose unit a person, customer and loan is in, and data scope."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from applications.models import Loan
from loancenter.lib.errors import DomainError
from loancenter.models import CENTER_CODE, AuditEntry, RefusedAttempt, StaffRequest, Unit, User
from loancenter.services import staff_change, staff_request_approve, staff_set_posts
from tests.factories import CustomerFactory, LoanFactory, id_number_for


def api(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


# --- the center and create_staff ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_center_unit_exists_after_migrating():
    center = Unit.objects.get(code=CENTER_CODE)
    assert center.is_center and center.may_disburse


@pytest.mark.django_db
def test_create_staff_without_unit_puts_the_person_in_the_center_and_with_unit_in_that_unit():
    Unit.objects.create(code="WEST", name="西区分中心")
    out = StringIO()
    call_command("create_staff", "li4", "--posts", "marketing", stdout=out)
    call_command("create_staff", "wang5", "--posts", "marketing", "--unit", "west", stdout=out)
    assert User.objects.get(username="li4").unit_id == CENTER_CODE
    assert User.objects.get(username="wang5").unit_id == "WEST"
    assert "wang5 in unit WEST" in out.getvalue()


@pytest.mark.django_db
def test_create_staff_with_an_unknown_unit_is_refused_and_creates_nobody():
    with pytest.raises(CommandError, match="no unit with the code NOWHERE"):
        call_command("create_staff", "zhao6", "--posts", "marketing", "--unit", "NOWHERE", stdout=StringIO())
    assert not User.objects.filter(username="zhao6").exists()


# --- the units API -----------------------------------------------------------------------------------------------


def test_manager_creates_a_sub_center_through_the_api_and_everyone_lists_it(staff):
    response = api(staff.boss).post("/api/units/", {"code": "north", "name": "北区分中心"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["code"] == "NORTH"
    assert response.json()["may_disburse"] is False  # default: no lending authority
    assert AuditEntry.objects.filter(action="unit_create", object_id="NORTH").exists()
    listed = api(staff.mkt).get("/api/units/").json()
    assert [u["code"] for u in listed] == [CENTER_CODE, "NORTH"]


def test_general_creates_a_disbursing_unit(staff):
    response = api(staff.gen).post("/api/units/", {"code": "S1", "name": "一分中心", "may_disburse": True},
                                   format="json")
    assert response.status_code == 201
    assert Unit.objects.get(code="S1").may_disburse


def test_a_marketing_officer_may_not_create_a_unit(staff):
    response = api(staff.mkt).post("/api/units/", {"code": "S2", "name": "二分中心"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "post_required"
    assert not Unit.objects.filter(code="S2").exists()
    assert RefusedAttempt.objects.filter(action="unit_create", actor=staff.mkt).exists()


def test_a_unit_code_taken_or_malformed_is_refused(staff):
    client = api(staff.boss)
    assert client.post("/api/units/", {"code": "S3", "name": "三分中心"}, format="json").status_code == 201
    again = client.post("/api/units/", {"code": "s3", "name": "另一个"}, format="json")
    assert again.status_code == 400 and again.json()["code"] == "unit_exists"
    bad = client.post("/api/units/", {"code": "东区", "name": "东区"}, format="json")
    assert bad.status_code == 400 and "code" in bad.json()
    assert Unit.objects.count() == 2


# --- customers and loans belong to the officer's unit ------------------------------------------------------------


def test_a_customer_and_a_loan_belong_to_their_marketing_officers_unit(staff, east, product):
    response = api(east.e_mkt).post("/api/customers/", {
        "name": "周八", "id_number": id_number_for(date(1986, 3, 4)), "phone": "13800000001", "monthly_income": "20000.00",
    }, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["unit"] == "EAST"
    customer = CustomerFactory(officer=east.e_mkt)
    loan = LoanFactory(customer=customer, product=product, marketing_officer=east.e_mkt)
    assert customer.unit_id == "EAST" and loan.unit_id == "EAST"
    assert api(east.e_mkt).get(f"/api/loans/{loan.pk}/").json()["unit"] == "EAST"


# --- data scope across two units -----------------------------------------------------------------------------------


def _everyone_sees_the_stage(*loans):
    Loan.objects.filter(pk__in=[loan.pk for loan in loans]).update(stage_reached=9)


@pytest.mark.parametrize("persona", ["e_mkt", "e_inv", "e_rev", "e_clerk", "e_disb", "e_gen", "e_boss"])
def test_sub_center_staff_see_their_units_loans_and_404_outside(persona, east, two_loans):
    _everyone_sees_the_stage(two_loans.center, two_loans.east)
    user = getattr(east, persona)
    client = api(user)
    listed = {row["id"] for row in client.get("/api/loans/").json()["results"]}
    assert two_loans.east.pk in listed and two_loans.center.pk not in listed
    assert client.get(f"/api/loans/{two_loans.east.pk}/").status_code == 200
    assert client.get(f"/api/loans/{two_loans.center.pk}/").status_code == 404
    assert client.get(f"/api/customers/{two_loans.center.customer_id}/").status_code == 404
    assert RefusedAttempt.objects.filter(actor=user, loan_id_ref=two_loans.center.pk, code="out_of_scope").exists()


@pytest.mark.parametrize("persona", ["inv", "rev", "clerk", "disb", "gen", "boss", "arch"])
def test_center_staff_see_every_units_loans(persona, staff, east, two_loans):
    _everyone_sees_the_stage(two_loans.center, two_loans.east)
    client = api(getattr(staff, persona))
    listed = {row["id"] for row in client.get("/api/loans/").json()["results"]}
    assert {two_loans.center.pk, two_loans.east.pk} <= listed
    assert client.get(f"/api/loans/{two_loans.east.pk}/").status_code == 200


def test_pages_and_pdfs_follow_the_unit(client, staff, east, two_loans):
    _everyone_sees_the_stage(two_loans.center, two_loans.east)
    client.force_login(east.e_inv)
    assert client.get(f"/loans/{two_loans.east.pk}/").status_code == 200
    assert client.get(f"/loans/{two_loans.center.pk}/").status_code == 404
    assert client.get(f"/loans/{two_loans.center.pk}/approval.pdf").status_code == 404
    page = client.get("/loans/").content.decode()
    assert two_loans.east.application_no in page and two_loans.center.application_no not in page
    client.force_login(east.e_gen)
    customers = client.get("/customers/").content.decode()
    assert two_loans.east.customer.name in customers or two_loans.east.customer.masked_id_number in customers
    assert client.get(f"/customers/{two_loans.center.customer_id}/").status_code == 404


def test_a_sub_center_managers_drill_down_export_holds_their_units_loans_only(client, staff, east, two_loans):
    client.force_login(east.e_boss)
    rows = b"".join(client.get("/reports/loans/?format=csv").streaming_content).decode("utf-8-sig")
    assert two_loans.east.application_no in rows and two_loans.center.application_no not in rows
    client.force_login(staff.boss)
    rows = b"".join(client.get("/reports/loans/?format=csv").streaming_content).decode("utf-8-sig")
    assert two_loans.east.application_no in rows and two_loans.center.application_no in rows


# --- moving a person: a staff request, four eyes ----------------------------------------------------------------


def test_a_move_to_another_unit_is_a_staff_request_approved_by_another_manager(client, staff, east):
    filed = api(staff.gen).post("/api/staff-requests/", {"user": "mkt2", "unit": "EAST", "reason": "调往东区"},
                                format="json")
    assert filed.status_code == 201, filed.content
    assert filed.json()["unit"] == "EAST"
    client.force_login(staff.boss)
    assert "move to unit EAST" in client.get("/staff-requests/").content.decode()
    staff.mkt2.refresh_from_db()
    assert staff.mkt2.unit_id == CENTER_CODE  # nothing changes until it is approved
    approved = api(staff.boss).post(f"/api/staff-requests/{filed.json()['id']}/approve/", {}, format="json")
    assert approved.status_code == 200, approved.content
    staff.mkt2.refresh_from_db()
    assert staff.mkt2.unit_id == "EAST"
    assert AuditEntry.objects.filter(action="staff_unit", object_id=str(staff.mkt2.pk),
                                     payload__new="EAST").exists()


def test_the_admin_staff_form_files_a_move_instead_of_making_it(staff, east):
    result = staff_change(actor=staff.gen, user=staff.mkt2, unit="EAST", via="admin")
    assert result.request is not None and result.request.unit_id == "EAST"
    staff.mkt2.refresh_from_db()
    assert staff.mkt2.unit_id == CENTER_CODE


# --- a disbursing unit keeps its last mortgage clerk -------------------------------------------------------------


def _refused(fn, code):
    with pytest.raises(DomainError) as exc:
        fn()
    assert exc.value.code == code, exc.value.message
    return exc.value


@pytest.mark.sidedoor(rule="13-last-clerk", path="admin/service: deactivate the account")
def test_the_last_mortgage_clerk_of_a_disbursing_unit_is_not_deactivated(staff, east):
    error = _refused(lambda: staff_change(actor=staff.boss, user=east.e_clerk, is_active=False), "last_mortgage_clerk")
    assert "东区分中心" in error.message
    east.e_clerk.refresh_from_db()
    assert east.e_clerk.is_active


@pytest.mark.sidedoor(rule="13-last-clerk", path="admin/service: remove the post")
def test_the_last_mortgage_clerk_keeps_the_post(staff, east):
    _refused(lambda: staff_change(actor=staff.boss, user=east.e_clerk, posts=[]), "last_mortgage_clerk")
    _refused(lambda: staff_set_posts(user=east.e_clerk, posts=[], actor=staff.boss), "last_mortgage_clerk")
    assert east.e_clerk.posts == {"mortgage_clerk"}


@pytest.mark.sidedoor(rule="13-last-clerk", path="api: staff request moving the person")
def test_the_last_mortgage_clerk_is_not_moved_away(staff, east):
    filed = api(staff.gen).post("/api/staff-requests/", {"user": "e_clerk", "unit": CENTER_CODE}, format="json")
    assert filed.status_code == 201
    refused = api(staff.boss).post(f"/api/staff-requests/{filed.json()['id']}/approve/", {}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "last_mortgage_clerk"
    east.e_clerk.refresh_from_db()
    assert east.e_clerk.unit_id == "EAST"
    assert StaffRequest.objects.get(pk=filed.json()["id"]).is_pending


def test_a_second_mortgage_clerk_frees_the_first(staff, east):
    from loancenter.services import staff_create

    staff_create(username="e_clerk2", posts=["mortgage_clerk"], unit="EAST")
    staff_change(actor=staff.boss, user=east.e_clerk, is_active=False)
    east.e_clerk.refresh_from_db()
    assert not east.e_clerk.is_active


def test_a_unit_that_does_not_disburse_may_lose_its_clerk(staff):
    Unit.objects.create(code="SOUTH", name="南区分中心", may_disburse=False)
    from loancenter.services import staff_create

    clerk = staff_create(username="s_clerk", posts=["mortgage_clerk"], unit="SOUTH")
    staff_change(actor=staff.boss, user=clerk, is_active=False)
    clerk.refresh_from_db()
    assert not clerk.is_active


def test_approving_a_move_checks_the_approver_is_another_manager(staff, east):
    filed = api(staff.boss).post("/api/staff-requests/", {"user": "mkt2", "unit": "EAST"}, format="json")
    assert filed.status_code == 201
    with pytest.raises(DomainError) as exc:
        staff_request_approve(request_id=filed.json()["id"], actor=staff.boss)
    assert exc.value.code == "separation_of_duty"
