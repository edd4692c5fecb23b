"""Finding 4 through ``create_staff``: a staff ID number typed with full-width digits is stored in ASCII (rule 25), so
the staff-borrower check of SPEC §4 still recognises the staff member as the borrower."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from applications.models import Status
from loancenter.lib.errors import SeparationOfDuty
from loancenter.models import RefusedAttempt, User
from loancenter.transitions import perform
from tests.conftest import payloads
from tests.factories import CustomerFactory, LoanFactory, ProductFactory, id_number_for

ID = id_number_for(date(1983, 2, 1))
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@pytest.mark.sidedoor(rule="sod", path="command: create_staff --id-number (full-width digits)")
def test_create_staff_with_a_full_width_id_number_is_still_the_borrower(staff, flow):
    call_command("create_staff", "appr_fw", "--posts", "approver", "--approval-limit", "300000",
                 "--id-number", ID[:17].translate(FULL_WIDTH) + ID[17], stdout=StringIO())
    approver = User.objects.get(username="appr_fw")
    assert approver.id_number == ID
    loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt, id_number=ID), product=ProductFactory(code="consumer"),
                       marketing_officer=staff.mkt)
    flow.advance(loan, Status.PENDING_APPROVAL)
    with pytest.raises(SeparationOfDuty):
        perform("approve", loan_id=loan.pk, actor=approver, data=payloads(staff, loan)["approve"])
    loan.refresh_from_db()
    assert loan.status == Status.PENDING_APPROVAL and loan.approver_id is None
    assert RefusedAttempt.objects.filter(actor=approver, action="approve", code="separation_of_duty").exists()
