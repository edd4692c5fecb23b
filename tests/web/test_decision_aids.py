"""Issue 15, parts 7 and 8: the approver's aids beside the decision form (limit, exposure, DTI, LTV, warnings, the
escalate button where the limit refuses), over-limit loans flagged in the queue, and the loan page saying which rule
holds a person back when it offers them nothing."""

from __future__ import annotations

from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from applications.models import Loan, Status
from applications.selectors import customer_exposure, customer_exposures
from loancenter.lib.money import first_installment
from loancenter.services import staff_create
from tests.api.conftest import drive
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, LoanFactory
from tests.support.forms import rendered_form

pytestmark = pytest.mark.django_db


def do(name: str, loan: Loan) -> str:
    return reverse("loan-transition", args=[loan.pk, name])


@pytest.fixture
def rich(staff):
    return CustomerFactory(officer=staff.mkt, monthly_income=Decimal("60000.00"), monthly_debt_payment=Decimal("0.00"))


@pytest.fixture
def big(staff, product, rich):
    """A loan above the approver's limit (appr: 200,000), waiting for their decision."""
    loan = LoanFactory(customer=rich, product=product, marketing_officer=staff.mkt, amount=Decimal("300000.00"))
    return drive(staff, loan, Status.PENDING_APPROVAL)


@pytest.fixture
def small(staff, product):
    customer = CustomerFactory(officer=staff.mkt, monthly_income=Decimal("30000.00"))
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, amount=Decimal("50000.00"))
    return drive(staff, loan, Status.PENDING_APPROVAL)


# Part 7: beside the decision form


def test_the_approve_form_shows_limit_exposure_dti_and_the_escalate_offer_above_the_limit(login, staff, big):
    page = login(staff.appr).get(do("approve", big))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="decision-aids"' in html
    installment = first_installment(Decimal("300000.00"), Decimal("0.0435"), big.term_months, big.repayment_method)
    assert f"{installment:,.2f}" in html[html.index('data-testid="aid-installment"'):][:200]
    dti = installment / Decimal("60000.00")
    assert f"{(dti * 100).quantize(Decimal('0.1'))}%" in html[html.index('data-testid="aid-dti"'):][:300]
    authority = html[html.index('data-testid="aid-authority"'):][:600]
    assert "Above your limit" in authority and "300,000.00" in authority and "200,000.00" in authority
    assert f'href="{do("escalate", big)}"' in html and 'data-testid="escalate-offer"' in html


def test_after_the_limit_refusal_the_approver_escalates_from_the_offered_button(login, staff, big):
    client = login(staff.appr)
    form = rendered_form(client.get(do("approve", big)).content, testid="transition-form")
    refused = client.post(do("approve", big), {**form.data, "reason": ["同意"]})
    html = refused.content.decode()
    assert refused.status_code == 403 and "authority limit" in html
    assert 'data-testid="escalate-offer"' in html
    big.refresh_from_db()
    assert big.status == Status.PENDING_APPROVAL

    escalate = rendered_form(client.get(do("escalate", big)).content, testid="transition-form")
    response = client.post(do("escalate", big), {**escalate.data, "reason": ["超出本人审批权限"]})
    assert response.status_code == 302
    big.refresh_from_db()
    assert big.status == Status.PENDING_BRANCH_APPROVAL and big.escalated_by == staff.appr


def test_within_the_limit_there_is_no_escalate_offer(login, staff, small):
    html = login(staff.appr).get(do("approve", small)).content.decode()
    assert "Within your limit" in html and 'data-testid="escalate-offer"' not in html


def test_the_aids_list_every_refusal_the_terms_would_meet(login, staff, product):
    poor = CustomerFactory(officer=staff.mkt, monthly_income=Decimal("60000.00"))
    loan = drive(staff, LoanFactory(customer=poor, product=product, marketing_officer=staff.mkt,
                                    amount=Decimal("150000.00"), term_months=12), Status.PENDING_APPROVAL)
    Loan.objects.filter(pk=loan.pk).update(verified_monthly_income=Decimal("8000.00"))  # as the investigation found
    html = login(staff.appr).get(do("approve", loan)).content.decode()
    warnings = html[html.index('data-testid="aid-warnings"'):][:800]
    assert "exceeds the product limit" in warnings and "(rule 8)" in warnings


def test_the_queue_flags_loans_above_the_approvers_limit(login, staff, big, small):
    html = login(staff.appr).get("/").content.decode()
    row = html[html.index(f'data-loan="{big.pk}"'):]
    row = row[:row.index("</tr>")]
    assert 'data-testid="over-limit"' in row
    other = html[html.index(f'data-loan="{small.pk}"'):]
    assert 'data-testid="over-limit"' not in other[:other.index("</tr>")]
    # The branch approver (limit 5,000,000) sees no flag on their own queue.
    assert 'data-testid="over-limit"' not in login(staff.branch).get("/").content.decode()


def test_the_loan_page_tells_the_approver_a_loan_is_above_their_limit(login, staff, big, small):
    client = login(staff.appr)
    html = unescape(client.get(reverse("loan-detail", args=[big.pk])).content.decode())
    note = html[html.index('data-testid="over-limit-note"'):][:300]
    assert "The customer's exposure 300,000.00 is above your authority limit" in note
    assert f'href="{do("escalate", big)}"' in html
    assert 'data-testid="over-limit-note"' not in client.get(reverse("loan-detail", args=[small.pk])).content.decode()


def test_the_queues_exposures_are_the_rules_exposures(staff, big, small, product, rich):
    other = LoanFactory(customer=rich, product=product, marketing_officer=staff.mkt, amount=Decimal("20000.00"))
    drive(staff, other, Status.ACTIVE)
    big.refresh_from_db()
    batch = customer_exposures([big, small])
    assert batch[big.pk] == customer_exposure(big) and batch[small.pk] == customer_exposure(small)
    assert batch[big.pk].active == Decimal("20000.00")


# Part 8: nothing to do, and why


def test_the_loan_page_says_which_rule_holds_a_person_back(login, staff, product, customer):
    both = staff_create(username="invrev", posts=["investigator", "reviewer"], password=PASSWORD, full_name="invrev")
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
    drive(staff, loan, Status.UNDER_REVIEW, acting={"start_investigation": both, "complete_investigation": both})
    html = login(both).get(reverse("loan-detail", args=[loan.pk])).content.decode()
    assert "Nothing for you to do on this loan now." in html
    held = unescape(html[html.index('data-testid="held-back"'):][:600])
    assert "You are this loan's investigator and may not also act as its reviewer (separation of duty)." in held
    assert do("pass_review", loan) not in html

    # Another reviewer may act; a post with no step in this state is simply told there is nothing to do.
    assert do("pass_review", loan) in login(staff.rev).get(reverse("loan-detail", args=[loan.pk])).content.decode()
    page = login(staff.inv2).get(reverse("loan-detail", args=[loan.pk])).content.decode()
    assert "Nothing for you to do on this loan now." in page and 'data-testid="held-back"' not in page


def test_an_unassigned_investigator_is_told_whose_investigation_it_is(login, staff, product, customer):
    loan = drive(staff, LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt),
                 Status.INVESTIGATING)
    html = login(staff.inv2).get(reverse("loan-detail", args=[loan.pk])).content.decode()
    held = unescape(html[html.index('data-testid="held-back"'):][:600])
    assert "only they may file its report (rule 26)" in held


def test_the_aids_print_the_rate_as_every_other_page_does(login, staff, big):
    """Issue 15 part 5: one way to print a rate. 3.9 % reads "3.90%" beside the decision, as on the loan page."""
    Loan.objects.filter(pk=big.pk).update(proposed_rate=Decimal("0.039"))  # as the reviewer proposed it
    html = unescape(login(staff.appr).get(do("approve", big)).content.decode())
    aids = html[html.index('data-testid="decision-aids"'):][:1500]
    assert "3.90%" in aids and "3.9%" not in aids
