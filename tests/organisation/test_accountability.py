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


def test_each_line_counts_the_open_checks_and_signals_of_the_officers_loans(client, staff, product):
    """Issue 16 part 4: beside what they originated, the post-loan work still open on it (SPEC §12)."""
    from datetime import timedelta

    from loancenter.lib.dates import today
    from postloan.models import PostLoanCheck, Signal

    loans = _book(staff, product)
    active = loans[0]
    for due in (today() - timedelta(days=2), today() + timedelta(days=20)):  # one overdue, one to come
        PostLoanCheck.objects.create(loan=active, kind=PostLoanCheck.ROUTINE, due_on=due, created_on=today(),
                                     owner_post="marketing", owner=staff.mkt)
    PostLoanCheck.objects.create(loan=active, kind=PostLoanCheck.FUND_USE, due_on=today(), created_on=today(),
                                 owner_post="marketing", owner=staff.mkt, status=PostLoanCheck.DONE)
    Signal.objects.create(loan=active, code="job_loss", level="orange", source=Signal.MANUAL, raised_on=today(),
                          raised_by=staff.mkt, owner_post="marketing", owner=staff.mkt,
                          deadline=today() + timedelta(days=15))
    client.force_login(staff.boss)
    rows = _csv(client.get("/reports/officers/?format=csv"))
    lines = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert (lines["mkt"]["Open checks"], lines["mkt"]["Overdue checks"], lines["mkt"]["Open signals"]) == ("2", "1", "1")
    assert (lines["mkt2"]["Open checks"], lines["mkt2"]["Open signals"]) == ("0", "0")
    page = client.get("/reports/officers/").content.decode()
    assert 'data-col="open_signals">1<' in page
