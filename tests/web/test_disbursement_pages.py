"""Browser pages from approval to settlement: the loan page's sections, the pre-disbursement checklist, the
registration ledger, the staff repayment form, and a whole loan taken from approved to settled through the pages."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from applications.models import Loan, Status
from disbursement.models import CollateralRegistration, Disbursement
from disbursement.services import registration_apply
from loancenter.lib.dates import today
from loancenter.transitions import perform
from postloan.models import Installment, Repayment
from postloan.services import outstanding_total
from tests.conftest import payloads
from tests.factories import CustomerFactory, LoanFactory, SecuredProductFactory, add_collateral

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client):
    """Log in as a persona, reading the pages in English (messages are compared as text)."""

    def _login(user):
        client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # as the language switch leaves it
        return client

    return _login


@pytest.fixture
def active(flow, draft):
    return flow.advance(draft, Status.ACTIVE)


@pytest.fixture
def secured(staff, customer):
    product = SecuredProductFactory(code="housing")
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, amount=Decimal("150000.00"),
                       term_months=120)
    add_collateral(loan)
    return loan


def page(client, loan):
    return client.get(reverse("loan-detail", args=[loan.pk]))


def html_of(response) -> str:
    return response.content.decode()


# ---------------------------------------------------------------------------------------------------------------
# The loan page


def test_loan_page_shows_contracts_receipt_disbursement_and_the_schedule(login, staff, active):
    response = page(login(staff.mkt), active)
    assert response.status_code == 200
    html = html_of(response)
    assert f"HT{active.pk:08d}" in html  # the loan contract's number
    assert active.receipt.receipt_no in html
    assert reverse("loan-receipt-pdf", args=[active.pk]) in html
    assert reverse("loan-approval-pdf", args=[active.pk]) in html
    assert reverse("loan-investigation-pdf", args=[active.pk]) in html
    assert 'data-testid="disbursement"' in html and "6222020200112233445" in html
    assert re.findall(r'data-installment="(\d+)"', html) == [str(n) for n in range(1, 13)]  # the next twelve
    assert "12 of 36 installments shown." in html
    assert f'href="{reverse("loan-schedule", args=[active.pk])}"' in html
    totals = re.search(r'data-testid="schedule-totals">(.*?)</tr>', html, re.S).group(1)
    assert "100,000.00" in totals  # the whole schedule's principal
    assert 'data-installment-status="pending"' in html


def _pay_off(loan, numbers):
    Installment.objects.filter(loan=loan, number__in=numbers).update(
        paid_principal=F("principal"), paid_interest=F("interest"), status=Installment.PAID, paid_off_on=today())


def test_loan_page_shows_twelve_installments_from_the_first_not_paid_off(login, staff, active):
    _pay_off(active, range(1, 6))
    html = html_of(page(login(staff.mkt), active))
    assert re.findall(r'data-installment="(\d+)"', html) == [str(n) for n in range(6, 18)]


def test_loan_page_of_a_loan_paid_off_shows_its_last_twelve_installments(login, staff, active):
    _pay_off(active, range(1, 37))
    html = html_of(page(login(staff.mkt), active))
    assert re.findall(r'data-installment="(\d+)"', html) == [str(n) for n in range(25, 37)]


def test_schedule_page_shows_every_installment_with_the_totals(login, staff, active):
    response = login(staff.mkt).get(reverse("loan-schedule", args=[active.pk]))
    assert response.status_code == 200
    html = html_of(response)
    assert re.findall(r'data-installment="(\d+)"', html) == [str(n) for n in range(1, 37)]
    assert 'data-testid="schedule-window"' not in html  # nothing left out
    assert "100,000.00" in re.search(r'data-testid="schedule-totals">(.*?)</tr>', html, re.S).group(1)
    assert f'href="{reverse("loan-detail", args=[active.pk])}"' in html
    assert 'data-testid="settle-button"' not in html  # the loan page's action, not this page's


def test_schedule_page_outside_the_scope_is_404(login, staff, active):
    assert login(staff.outsider).get(reverse("loan-schedule", args=[active.pk])).status_code == 404


def test_schedule_page_before_disbursement_says_there_is_none(login, staff, draft):
    response = login(staff.mkt).get(reverse("loan-schedule", args=[draft.pk]))
    assert response.status_code == 200
    assert "No repayment schedule yet" in html_of(response)


@pytest.mark.parametrize(("who", "sees_form"), [("gen", True), ("disb", True), ("mkt", False), ("rev", False),
                                                ("boss", False)])
def test_repayment_form_is_offered_only_to_general_and_disbursement(login, staff, active, who, sees_form):
    html = html_of(page(login(getattr(staff, who)), active))
    assert 'data-testid="schedule"' in html
    assert ('data-testid="repayment-form"' in html) is sees_form


def test_loan_before_approval_has_no_after_approval_sections(login, staff, draft):
    html = html_of(page(login(staff.mkt), draft))
    assert 'data-testid="contracts"' not in html and 'data-testid="schedule"' not in html


def test_paid_up_loan_offers_the_settle_button(login, staff, active):
    Installment.objects.filter(loan=active).update(paid_principal=F("principal"), paid_interest=F("interest"),
                                                   status=Installment.PAID)
    html = html_of(page(login(staff.gen), active))
    assert 'data-testid="settle-button"' in html
    # The marketing officer may not settle: the panel says it is paid, without the button.
    html = html_of(page(login(staff.mkt), active))
    assert 'data-testid="settle-panel"' in html and 'data-testid="settle-button"' not in html


def test_loan_not_paid_up_has_no_settle_button(login, staff, active):
    assert 'data-testid="settle-button"' not in html_of(page(login(staff.gen), active))


# ---------------------------------------------------------------------------------------------------------------
# The staff repayment form


def post_repayment(client, loan, amount, reference, paid_on=None):
    return client.post(reverse("repayment-new", args=[loan.pk]),
                       {"amount": amount, "paid_on": (paid_on or today()).isoformat(), "reference": reference})


def test_posting_a_repayment_shows_its_allocation(login, staff, active):
    client = login(staff.gen)
    response = post_repayment(client, active, "3000.00", "CNT-0001")
    repayment = Repayment.objects.get(reference="CNT-0001")
    assert response.status_code == 302
    assert response["Location"] == reverse("repayment-detail", args=[active.pk, repayment.pk])
    result = client.get(response["Location"])
    html = html_of(result)
    assert "Repayment CNT-0001 applied." in html
    first = Installment.objects.get(loan=active, number=1)
    table = re.search(r'data-testid="allocation">(.*?)</table>', html, re.S).group(1)
    cells = re.findall(r'<td class="num">#?([\d.,]+)</td>', table)  # amounts as |money prints them: 2,605.49
    second_interest = Decimal("3000.00") - first.principal - first.interest
    assert cells == ["1", "0.00", f"{first.interest:,.2f}", f"{first.principal:,.2f}", "2", "0.00",
                     f"{second_interest:,.2f}", "0.00"]
    assert html_of(page(client, active)).count('data-repayment="CNT-0001"') == 1


def test_repeated_reference_says_already_applied_with_the_first_result(login, staff, active):
    client = login(staff.disb)
    first = post_repayment(client, active, "1000.00", "CNT-DUP")
    again = post_repayment(client, active, "2500.00", "CNT-DUP")  # a retyped amount changes nothing
    assert again.status_code == 302 and again["Location"] == first["Location"]
    html = html_of(client.get(again["Location"]))
    assert "already applied" in html
    assert re.search(r'data-testid="repayment-amount">1,000\.00<', html)
    assert Repayment.objects.filter(reference="CNT-DUP").count() == 1


def test_overpayment_in_the_browser_is_refused_and_writes_nothing(login, staff, active):
    too_much = outstanding_total(active) + Decimal("0.01")
    response = post_repayment(login(staff.gen), active, str(too_much), "CNT-OVER")
    assert response.status_code == 400
    html = html_of(response)
    assert 'data-testid="repayment-error"' in html and "exceeds everything still owed" in html
    assert not Repayment.objects.exists()
    assert not Installment.objects.filter(loan=active).exclude(paid_interest=0).exists()


def test_wrong_post_gets_403_from_the_repayment_form(login, staff, active):
    client = login(staff.mkt)
    assert client.get(reverse("repayment-new", args=[active.pk])).status_code == 403
    assert post_repayment(client, active, "100.00", "CNT-MKT").status_code == 403
    assert not Repayment.objects.exists()


def test_repayment_form_outside_the_scope_is_404(login, staff, active):
    client = login(staff.mkt2)  # another marketing officer's loan does not exist for them
    assert post_repayment(client, active, "100.00", "CNT-SCOPE").status_code == 404
    assert client.get(reverse("repayment-new", args=[active.pk])).status_code == 404
    assert not Repayment.objects.exists()


# ---------------------------------------------------------------------------------------------------------------
# The pre-disbursement checklist


def checks(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-check-ok="(yes|no)">\s*<td>.*?</td>\s*<td>(.*?)</td>', html, re.S)


def test_checklist_names_the_missing_stamp_and_hides_disburse(login, staff, flow, draft):
    loan = flow.advance(draft, Status.CONTRACT_SIGNED)
    data = {**payloads(staff, loan)["prepare_receipt"], "apply_stamp": False}
    perform("prepare_receipt", loan_id=loan.pk, actor=staff.rev, data=data)
    response = login(staff.disb).get(reverse("disbursement-check", args=[loan.pk]))
    assert response.status_code == 200
    html = html_of(response)
    verdicts = dict((label, ok) for ok, label in checks(html))
    assert verdicts["Rule 15 · Loan receipt prepared with the disbursement stamp"] == "no"
    assert verdicts["Rule 13 · Loan, guarantee and mortgage contracts signed and effective"] == "yes"
    assert "The loan receipt does not carry the disbursement stamp (rule 15)." in html
    assert 'data-testid="disburse-button"' not in html and 'data-testid="disburse-blocked"' in html


def test_checklist_of_a_secured_loan_names_the_unregistered_mortgage(login, staff, flow, secured):
    loan = flow.advance(secured, Status.CONTRACT_SIGNED)
    html = html_of(login(staff.disb).get(reverse("disbursement-check", args=[loan.pk])))
    assert "The mortgage has not been registered yet (rule 14)." in html
    assert "The loan receipt has not been prepared (rule 15)." in html
    # Housing loans never qualify for self payment (rule 17).
    assert "not allowed for this loan" in html


def test_ready_loan_is_all_ticked_and_offers_disburse_to_the_officer_only(login, staff, flow, draft):
    loan = flow.advance(draft, Status.READY_TO_DISBURSE)
    html = html_of(login(staff.disb).get(reverse("disbursement-check", args=[loan.pk])))
    assert [ok for ok, _label in checks(html)] == ["yes"] * 5
    assert 'data-testid="disburse-button"' in html
    assert reverse("loan-transition", args=[loan.pk, "disburse"]) in html
    assert "allowed for this loan" in html  # consumer loan of 100,000: self payment possible (rule 17)
    html = html_of(login(staff.rev).get(reverse("disbursement-check", args=[loan.pk])))
    assert 'data-testid="disburse-button"' not in html


def test_checklist_outside_the_scope_is_404(login, staff, flow, draft):
    loan = flow.advance(draft, Status.READY_TO_DISBURSE)
    assert login(staff.mkt2).get(reverse("disbursement-check", args=[loan.pk])).status_code == 404


# ---------------------------------------------------------------------------------------------------------------
# The registration ledger


def ledger(client, status=""):
    return client.get(reverse("registration-ledger"), {"status": status} if status else {})


def ledger_rows(html: str) -> dict[int, str]:
    return {int(pk): status for pk, status in re.findall(r'data-ledger-loan="(\d+)" data-ledger-status="(\w+)"', html)}


def test_ledger_takes_a_secured_loan_from_waiting_to_handed_over(login, staff, flow, secured):
    loan = flow.advance(secured, Status.CONTRACT_SIGNED)
    client = login(staff.clerk)
    html = html_of(ledger(client))
    assert ledger_rows(html) == {loan.pk: "waiting"} and 'data-testid="apply-form"' in html

    response = client.post(reverse("registration-apply", args=[loan.pk]),
                           {"registry": "北京市东城区不动产登记中心", "applied_on": today().isoformat()})
    assert response.status_code == 302
    assert ledger_rows(html_of(ledger(client))) == {loan.pk: "applied"}

    response = client.post(reverse("registration-register", args=[loan.pk]), {
        "registry": "北京市东城区不动产登记中心", "registered_on": today().isoformat(), "certificate_no": "京(2026)东城区不动产证明第0000001号"})
    assert response.status_code == 302
    loan.refresh_from_db()
    assert loan.status == Status.COLLATERAL_REGISTERED
    html = html_of(ledger(client))
    assert ledger_rows(html) == {loan.pk: "registered"} and "京(2026)东城区不动产证明第0000001号" in html
    assert f'value="{staff.disb.pk}"' in html  # the disbursement officer is offered in the select

    response = client.post(reverse("registration-hand-over", args=[loan.pk]), {"to_user": staff.disb.pk})
    assert response.status_code == 302
    entry = CollateralRegistration.objects.get(loan=loan)
    assert entry.handed_over_to == staff.disb and entry.handed_over_at is not None
    html = html_of(client.get(response["Location"]))
    assert ledger_rows(html) == {loan.pk: "handed_over"}
    assert "handed over to disb" in html


def test_certificate_goes_only_to_a_disbursement_officer(login, staff, flow, secured):
    loan = flow.advance(secured, Status.COLLATERAL_REGISTERED)
    response = login(staff.clerk).post(reverse("registration-hand-over", args=[loan.pk]), {"to_user": staff.rev.pk})
    assert response.status_code == 302
    assert CollateralRegistration.objects.get(loan=loan).handed_over_at is None


def test_ledger_filter_and_overdue_flags(login, staff, flow, secured, customer):
    applied = flow.advance(secured, Status.CONTRACT_SIGNED)
    registration_apply(loan_id=applied.pk, actor=staff.clerk, registry="东城区登记中心",
                       applied_on=today() - timedelta(days=31))
    other = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=secured.product,
                        marketing_officer=staff.mkt, amount=Decimal("120000.00"), term_months=120)
    add_collateral(other, certificate_no="京(2025)东城区不动产权第0002号")
    waiting = flow.advance(other, Status.APPROVED)
    late = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=secured.product,
                       marketing_officer=staff.mkt, amount=Decimal("110000.00"), term_months=120)
    add_collateral(late, certificate_no="京(2025)东城区不动产权第0003号")
    with time_machine.travel(timezone.now() - timedelta(days=8)):  # approved and signed eight days ago
        late = flow.advance(late, Status.CONTRACT_SIGNED)
    waiting = flow.advance(waiting, Status.CONTRACT_SIGNED)
    client = login(staff.clerk)

    assert ledger_rows(html_of(ledger(client, "applied"))) == {applied.pk: "applied"}
    assert ledger_rows(html_of(ledger(client, "waiting"))) == {waiting.pk: "waiting", late.pk: "waiting"}
    assert ledger_rows(html_of(ledger(client, "handed_over"))) == {}

    html = html_of(ledger(client))
    assert set(ledger_rows(html)) == {applied.pk, waiting.pk, late.pk}
    flagged = {int(pk) for pk in re.findall(r'data-ledger-loan="(\d+)" data-ledger-status="\w+" class="overdue"', html)}
    assert flagged == {applied.pk, late.pk}  # signed today is not late yet
    assert "Applied 31 days ago and not registered" in html
    assert "Contracts signed 8 days ago and no application filed" in html
    assert 'data-testid="overdue-count"' in html


@pytest.mark.parametrize("who", ["mkt", "rev", "appr", "inv", "arch"])
def test_ledger_is_refused_to_other_posts(login, staff, who):
    assert ledger(login(getattr(staff, who))).status_code == 403


def test_ledger_forms_are_for_the_clerk_only(login, staff, flow, secured):
    loan = flow.advance(secured, Status.CONTRACT_SIGNED)
    html = html_of(ledger(login(staff.disb)))
    assert loan.pk in ledger_rows(html) and 'data-testid="apply-form"' not in html
    response = login(staff.disb).post(reverse("registration-apply", args=[loan.pk]),
                                      {"registry": "某登记中心", "applied_on": today().isoformat()})
    assert response.status_code == 403
    assert not CollateralRegistration.objects.filter(loan=loan).exists()


# ---------------------------------------------------------------------------------------------------------------
# A whole loan through the pages: approved → active → settled


def test_a_secured_loan_goes_from_approved_to_settled_through_the_browser(login, staff, flow, secured):
    loan = flow.advance(secured, Status.APPROVED)
    do = lambda name: reverse("loan-transition", args=[loan.pk, name])  # noqa: E731
    day = today().isoformat()

    client = login(staff.mkt)
    assert client.get(page_url(loan)).status_code == 200
    response = client.post(do("sign_contract"), {"contract_no": "HT2026-0001", "signed_on": day, "signed_in_person": "on"})
    assert response.status_code == 302, html_of(response)
    assert status_of(loan) == Status.CONTRACT_SIGNED

    client = login(staff.clerk)
    assert client.post(reverse("registration-apply", args=[loan.pk]), {"registry": "东城区登记中心", "applied_on": day}).status_code == 302
    client.post(reverse("registration-register", args=[loan.pk]),
                {"registry": "东城区登记中心", "registered_on": day, "certificate_no": "京(2026)东城区不动产证明第0000009号"})
    assert status_of(loan) == Status.COLLATERAL_REGISTERED
    client.post(reverse("registration-hand-over", args=[loan.pk]), {"to_user": staff.disb.pk})

    client = login(staff.rev)
    response = client.post(do("prepare_receipt"), {"value_date": day, "apply_stamp": "on"})
    assert response.status_code == 302, html_of(response)
    assert status_of(loan) == Status.READY_TO_DISBURSE

    client = login(staff.disb)
    check = html_of(client.get(reverse("disbursement-check", args=[loan.pk])))
    assert [ok for ok, _label in checks(check)] == ["yes"] * 5 and 'data-testid="disburse-button"' in check
    response = client.post(do("disburse"), {"disbursed_on": day, "payee_account": "6222020200112233445",
                                            "payment_mode": "entrusted"})
    assert response.status_code == 302, html_of(response)
    assert status_of(loan) == Status.ACTIVE
    assert Disbursement.objects.filter(loan=loan).count() == 1
    assert Installment.objects.filter(loan=loan).count() == 120

    client = login(staff.gen)
    owed = outstanding_total(loan)
    response = post_repayment(client, loan, f"{owed:.2f}", "CNT-PAYOFF")
    assert response.status_code == 302
    result = html_of(client.get(response["Location"]))
    assert 'data-testid="settle-panel"' in result
    html = html_of(page(client, loan))
    assert 'data-testid="settle-button"' in html
    response = client.post(do("settle"))
    assert response.status_code == 302
    assert status_of(loan) == Status.SETTLED
    assert 'data-testid="repayment-form"' not in html_of(page(client, loan))


def page_url(loan):
    return reverse("loan-detail", args=[loan.pk])


def status_of(loan) -> str:
    return Loan.objects.get(pk=loan.pk).status
