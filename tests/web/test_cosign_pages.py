"""Rule 26 in the browser: the first investigator files the report on the generic transition page, the second finds
the loan in their work queue, reads the report on the loan page and co-signs it on the generic transition page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from applications.models import Status
from loancenter.lib.dates import today
from loancenter.models import RefusedAttempt
from tests.api.conftest import drive
from tests.factories import CustomerFactory, LoanFactory, ProductFactory

pytestmark = pytest.mark.django_db


def do(name, loan):
    return reverse("loan-transition", args=[loan.pk, name])


@pytest.fixture
def dual_loan(staff):
    product = ProductFactory(code="dual", dual_investigation=True)
    loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
    return drive(staff, loan, Status.INVESTIGATING)


REPORT = {
    "investigators": ["inv", "inv2"], "field_visit_on": today().isoformat(), "identity_verified": "true",
    "income_verified": "true", "purpose_verified": "true", "opinion": "recommend",
    "recommended_amount": "100000.00", "recommended_term_months": "36", "comment": "实地走访,经营正常",
}


def test_the_second_investigator_cosigns_in_the_browser(client, login, staff, dual_loan):
    response = login(staff.inv).post(do("complete_investigation", dual_loan), REPORT)
    assert response.status_code == 302, response.content.decode()
    dual_loan.refresh_from_db()
    assert dual_loan.status == Status.INVESTIGATING

    # The second investigator's queue lists it, counted under its state.
    home = login(staff.inv2).get("/").content.decode()
    assert str(dual_loan) in home
    # The loan page shows them the first investigator's report and offers the co-signature.
    page = client.get(reverse("loan-detail", args=[dual_loan.pk])).content.decode()
    assert "实地走访,经营正常" in page and "waiting for the co-signature" in page
    assert do("cosign_investigation", dual_loan) in page
    assert do("complete_investigation", dual_loan) not in page

    form = client.get(do("cosign_investigation", dual_loan))
    html = form.content.decode()
    assert form.status_code == 200 and 'name="agree"' in html and 'name="comment"' in html
    assert 'type="checkbox" name="agree"' not in html  # an answer to choose, not a box left unticked

    response = client.post(do("cosign_investigation", dual_loan), {"comment": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    response = client.post(do("cosign_investigation", dual_loan), {"agree": "false", "comment": ""})
    assert response.status_code == 400 and "rule 26" in response.content.decode()
    dual_loan.refresh_from_db()
    assert dual_loan.status == Status.INVESTIGATING

    response = client.post(do("cosign_investigation", dual_loan), {"agree": "true", "comment": "同意"})
    assert response.status_code == 302
    dual_loan.refresh_from_db()
    assert dual_loan.status == Status.UNDER_REVIEW


@pytest.mark.sidedoor(rule="26", path="browser: /loans/{id}/do/cosign_investigation/")
def test_the_first_investigator_cannot_cosign_their_own_report_in_the_browser(login, staff, dual_loan):
    client = login(staff.inv)
    client.post(do("complete_investigation", dual_loan), REPORT)
    page = client.get(reverse("loan-detail", args=[dual_loan.pk])).content.decode()
    assert do("cosign_investigation", dual_loan) not in page
    assert client.get(do("cosign_investigation", dual_loan)).status_code == 403
    before = dual_loan.audit_entries.count()

    response = client.post(do("cosign_investigation", dual_loan), {"agree": "true"})

    assert response.status_code == 403 and "rule 26" in response.content.decode()
    dual_loan.refresh_from_db()
    assert dual_loan.status == Status.INVESTIGATING and dual_loan.audit_entries.count() == before
    assert RefusedAttempt.objects.filter(loan_id_ref=dual_loan.pk, actor=staff.inv, code="not_assigned").exists()


def test_a_returned_report_comes_back_to_the_first_investigator_with_the_comment(login, staff, dual_loan):
    login(staff.inv).post(do("complete_investigation", dual_loan), REPORT)
    client = login(staff.inv2)
    client.post(do("cosign_investigation", dual_loan), {"agree": "false", "comment": "收入未核实银行流水"})

    client = login(staff.inv)
    assert str(dual_loan) in client.get("/").content.decode()
    page = client.get(reverse("loan-detail", args=[dual_loan.pk])).content.decode()
    assert "收入未核实银行流水" in page and "disagreed and returned the report" in page
    form = client.get(do("complete_investigation", dual_loan)).content.decode()
    assert "实地走访,经营正常" in form  # the returned report, to correct rather than retype
