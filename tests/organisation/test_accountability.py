"""Officer accountability (issue 16 part 4): per officer, unit and vintage; the manager sees all, an officer their own;
a hand-over does not take an officer's originations away from them."""

from __future__ import annotations

from decimal import Decimal

from applications.models import Loan, Status
from loancenter.handovers import handover_approve, handover_file
from tests.factories import CustomerFactory, LoanFactory


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return [line.split(",") for line in body.decode("utf-8-sig").splitlines()]


def _book(staff, product):
    loans = [LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
             for _ in range(3)]
    Loan.objects.filter(pk=loans[0].pk).update(status=Status.ACTIVE, approved_amount=Decimal("100000.00"),
                                               outstanding_principal=Decimal("80000.00"), grade="substandard")
    Loan.objects.filter(pk=loans[1].pk).update(status=Status.REJECTED)
    LoanFactory(customer=CustomerFactory(officer=staff.mkt2), product=product, marketing_officer=staff.mkt2)
    return loans


def test_the_manager_sees_each_officers_applications_approval_and_npl(client, staff, product):
    _book(staff, product)
    client.force_login(staff.boss)
    rows = _csv(client.get("/reports/officers/?format=csv"))
    header, lines = rows[0], {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert header[:3] == ["Marketing officer", "Unit", "Vintage"]
    assert set(lines) == {"mkt", "mkt2"}
    mkt = lines["mkt"]
    assert (mkt["Applications"], mkt["Decided"], mkt["Approved"]) == ("3", "2", "1")
    assert (mkt["Approval rate"], mkt["Amount disbursed"], mkt["NPL rate"]) == ("50.00%", "100000.00", "100.00%")


def test_an_officer_sees_only_their_own_line(client, staff, product):
    _book(staff, product)
    client.force_login(staff.mkt2)
    rows = _csv(client.get("/reports/officers/?format=csv"))
    assert [row[0] for row in rows[1:]] == ["mkt2"]
    assert client.get("/reports/officers/").status_code == 200


def test_handed_over_loans_stay_with_the_officer_who_originated_them(client, staff, product):
    _book(staff, product)
    handover = handover_file(actor=staff.gen, from_user=staff.mkt, to_user=staff.mkt2, reason="调岗")
    handover_approve(actor=staff.boss, handover_id=handover.pk)
    client.force_login(staff.mkt)
    rows = _csv(client.get("/reports/officers/?format=csv"))
    assert [(row[0], row[3]) for row in rows[1:]] == [("mkt", "3")]


def test_the_accountability_page_cut_by_unit(client, staff, east, product):
    _book(staff, product)
    LoanFactory(customer=CustomerFactory(officer=east.e_mkt), product=product, marketing_officer=east.e_mkt)
    client.force_login(staff.boss)
    rows = _csv(client.get("/reports/officers/?unit=EAST&format=csv"))
    assert [row[0] for row in rows[1:]] == ["e_mkt"]
    client.force_login(east.e_boss)
    rows = _csv(client.get("/reports/officers/?format=csv"))
    assert [row[0] for row in rows[1:]] == ["e_mkt"]


def test_an_investigator_gets_the_403_page(client, staff):
    client.force_login(staff.inv)
    assert client.get("/reports/officers/").status_code == 403
