"""Customers: bad input writes nothing; the warning list is kept by reviewers and the manager; staff loans are
matched by ID number whatever the case of its X."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from applications.models import Customer, Status
from applications.services import customer_create, customer_set_warning, customer_update
from loancenter.lib.errors import Forbidden, SeparationOfDuty
from loancenter.lib.idcard import make_id_number
from loancenter.models import AuditEntry, User
from tests.applications.support import assert_refused, call

X_ID = "11010119850615903X"  # born 1985, check character X


def data(**overrides) -> dict:
    return {"name": "王芳", "id_number": make_id_number("110101", date(1990, 1, 1), 22), "phone": "13900000000",
            "monthly_income": "15000.00", "monthly_debt_payment": "0.00", "civil_capacity": "full", **overrides}


def refused_create(actor, error=ValidationError, **overrides):
    customers, audits = Customer.objects.count(), AuditEntry.objects.count()
    with pytest.raises(error) as exc:
        customer_create(actor=actor, data=data(**overrides))
    assert (Customer.objects.count(), AuditEntry.objects.count()) == (customers, audits)
    return exc.value


def test_marketing_officer_registers_a_customer_and_becomes_its_officer(staff):
    customer = customer_create(actor=staff.mkt, data=data())
    assert customer.officer == staff.mkt
    assert AuditEntry.objects.filter(action="customer_create", object_id=str(customer.pk)).count() == 1


@pytest.mark.parametrize("persona", ["inv", "rev", "appr", "gen", "boss", "outsider"])
def test_only_marketing_registers_customers(staff, persona):
    error = refused_create(getattr(staff, persona), Forbidden)
    assert error.code == "post_required"


@pytest.mark.parametrize(
    "field, value",
    [("name", "张" * 51), ("address", "路" * 201), ("employer", "司" * 101), ("name", ""),
     ("monthly_income", "-1.00"), ("monthly_income", "100.001"), ("civil_capacity", "partial")],
)
def test_bad_customer_input_is_refused_by_field_and_writes_nothing(staff, field, value):
    error = refused_create(staff.mkt, **{field: value})
    assert field in error.message_dict


def test_the_same_id_number_cannot_be_registered_twice(staff):
    customer_create(actor=staff.mkt, data=data(id_number=X_ID))
    error = refused_create(staff.mkt, id_number=X_ID.lower(), phone="13900000001")
    assert "id_number" in error.message_dict


def test_markup_in_a_name_is_stored_as_text(staff):
    # Stored verbatim; the templates and the API escape it on the way out.
    customer = customer_create(actor=staff.mkt, data=data(name="<script>x</script>"))
    assert Customer.objects.get(pk=customer.pk).name == "<script>x</script>"


@pytest.mark.parametrize("persona", ["rev", "boss"])
def test_reviewer_or_manager_puts_a_customer_on_the_warning_list(staff, customer, persona):
    customer_set_warning(actor=getattr(staff, persona), customer=customer, on_warning_list=True, reason="逾期")
    customer.refresh_from_db()
    assert customer.on_warning_list
    assert AuditEntry.objects.filter(action="customer_warning_list").count() == 1


@pytest.mark.parametrize("persona", ["mkt", "inv", "appr", "gen"])
def test_other_posts_cannot_touch_the_warning_list(staff, customer, persona):
    with pytest.raises(Forbidden):
        customer_set_warning(actor=getattr(staff, persona), customer=customer, on_warning_list=True)
    customer.refresh_from_db()
    assert not customer.on_warning_list


def test_only_the_registering_officer_edits_a_customer(staff, customer):
    with pytest.raises(Forbidden) as exc:
        customer_update(actor=staff.mkt2, customer_id=customer.pk, data={"phone": "13900000009"})
    assert exc.value.code == "not_owner"
    customer_update(actor=staff.mkt, customer_id=customer.pk, data={"phone": "13900000009"})
    customer.refresh_from_db()
    assert customer.phone == "13900000009"
    entry = AuditEntry.objects.get(action="customer_update")
    assert entry.payload["new"] == {"phone": "13900000009"} and "phone" in entry.payload["old"]


def test_staff_create_stores_the_id_number_upper_case(ctx):
    assert ctx.person("lower", "reviewer", id_number=X_ID.lower()).id_number == X_ID


@pytest.mark.parametrize("via", ["staff_create", "direct_edit"])
def test_staff_borrower_whose_id_was_entered_with_a_lowercase_x_is_still_matched(ctx, via):
    borrower = ctx.customer(id_number=X_ID)
    approver = ctx.person("staffborrower", "approver", limit=ctx.staff.appr.approval_limit, id_number=X_ID.lower())
    if via == "direct_edit":  # e.g. the admin form, which does not go through staff_create
        User.objects.filter(pk=approver.pk).update(id_number=X_ID.lower())
        approver.refresh_from_db()
    loan = ctx.advance(ctx.loan(customer=borrower), Status.PENDING_APPROVAL)
    assert_refused(loan, SeparationOfDuty, lambda: call("approve", loan, approver), code="separation_of_duty")
