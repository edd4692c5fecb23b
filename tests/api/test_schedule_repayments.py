"""GET /api/loans/{id}/schedule/, GET and POST /api/loans/{id}/repayments/ through HTTP (SPEC §5, §9)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from applications.models import Loan, Status
from loancenter.lib.dates import today
from loancenter.models import AuditEntry
from loancenter.transitions import perform
from postloan.models import BatchRun, Installment, Repayment
from postloan.services import outstanding_total
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db


def activate(flow, staff, loan: Loan, *, rate: str = "0.036") -> Loan:
    """Approve at ``rate`` (instead of the flow's 0.0435) and take the loan to active through the real services."""
    loan = flow.advance(loan, Status.PENDING_APPROVAL)
    perform("approve", loan_id=loan.pk, actor=staff.appr, data={
        "amount": str(loan.amount), "term_months": loan.term_months, "annual_rate": rate,
        "repayment_method": loan.repayment_method, "reason": "同意"})
    return flow.advance(loan, Status.ACTIVE)


@pytest.fixture
def active(flow, staff, draft):
    return activate(flow, staff, draft)


def url(loan: Loan, what: str) -> str:
    return f"/api/loans/{loan.pk}/{what}/"


def ledger_state(loan: Loan) -> tuple:
    """Everything a repayment writes: its rows, the installments' paid parts, the balance and the audit trail."""
    return (
        list(Repayment.objects.filter(loan=loan).values_list("reference", "amount")),
        list(Installment.objects.filter(loan=loan).order_by("number")
             .values_list("paid_principal", "paid_interest", "paid_penalty", "status")),
        Loan.objects.get(pk=loan.pk).outstanding_principal,
        AuditEntry.objects.filter(loan=loan, action="repayment").count(),
    )


# ---------------------------------------------------------------------------------------------------------------
# Schedule


def test_schedule_of_100000_at_3_6_percent_over_36_months_equal_installment(api, staff, active):
    response = api(staff.mkt).get(url(active, "schedule"))
    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == 36
    first = rows[0]
    assert set(first) >= {"number", "due_date", "principal", "interest", "paid_principal", "paid_interest", "penalty",
                          "status"}
    assert first["number"] == 1
    # 100,000 × 0.003 = 300.00 interest; the annuity 2,934.64 leaves 2,634.64 of principal.
    assert (first["interest"], first["principal"]) == ("300.00", "2634.64")
    assert Decimal(first["principal"]) + Decimal(first["interest"]) == Decimal("2934.64")
    assert all(Decimal(r["principal"]) + Decimal(r["interest"]) == Decimal("2934.64") for r in rows[:-1])
    assert sum(Decimal(r["principal"]) for r in rows) == Decimal("100000.00")
    assert (first["paid_principal"], first["paid_interest"], first["penalty"], first["status"]) == (
        "0.00", "0.00", "0.00", "pending")
    assert first["due_date"] > active.receipt.value_date.isoformat()


def test_schedule_equal_principal_first_installment(api, flow, staff, product, customer):
    loan = activate(flow, staff, LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt,
                                             repayment_method="equal_principal"))
    first = api(staff.gen).get(url(loan, "schedule")).json()[0]
    # 100,000 / 36 = 2,777.78 principal + 300.00 interest.
    assert (first["principal"], first["interest"]) == ("2777.78", "300.00")


def test_schedule_is_empty_before_disbursement(api, staff, flow, draft):
    loan = flow.advance(draft, Status.APPROVED)
    response = api(staff.mkt).get(url(loan, "schedule"))
    assert response.status_code == 200 and response.json() == []


def test_loan_detail_reads_the_real_servicing_figures(api, staff, active):
    BatchRun.objects.create(as_of=date(2026, 6, 30), status=BatchRun.DONE)  # days past due count to the last run
    Loan.objects.filter(pk=active.pk).update(oldest_unpaid_due=date(2026, 6, 18), collection_tier="T1", grade="special_mention")
    body = api(staff.gen).get(f"/api/loans/{active.pk}/").json()
    assert (body["days_past_due"], body["collection_tier"], body["grade"]) == (12, "T1", "special_mention")
    assert body["outstanding_principal"] == "100000.00"
    Loan.objects.filter(pk=active.pk).update(collection_tier="", grade="")
    body = api(staff.gen).get(f"/api/loans/{active.pk}/").json()
    assert body["collection_tier"] is None and body["grade"] is None


# ---------------------------------------------------------------------------------------------------------------
# Repayments


def test_repayment_is_allocated_and_answered_with_201(api, staff, active):
    payment = {"amount": "3000.00", "paid_on": today().isoformat(), "reference": "CB-20260101-0001"}
    response = api(staff.gen).post(url(active, "repayments"), payment, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["reference"], body["amount"], body["paid_on"]) == (payment["reference"], "3000.00", payment["paid_on"])
    # Interest of installment 1 first, then its principal, then the next installment's interest.
    assert (body["to_penalty"], body["to_interest"], body["to_principal"]) == ("0.00", "365.36", "2634.64")
    assert body["allocation"] == [
        {"installment": 1, "penalty": "0.00", "interest": "300.00", "principal": "2634.64"},
        {"installment": 2, "penalty": "0.00", "interest": "65.36", "principal": "0.00"},
    ]
    schedule = api(staff.gen).get(url(active, "schedule")).json()
    assert (schedule[0]["paid_principal"], schedule[0]["paid_interest"], schedule[0]["status"]) == (
        "2634.64", "300.00", "paid")
    assert (schedule[1]["paid_interest"], schedule[1]["status"]) == ("65.36", "partially_paid")
    assert api(staff.gen).get(f"/api/loans/{active.pk}/").json()["outstanding_principal"] == "97365.36"
    listed = api(staff.mkt).get(url(active, "repayments")).json()
    assert listed == [body]


def test_the_disbursement_post_may_post_repayments(api, staff, active):
    response = api(staff.disb).post(url(active, "repayments"),
                                    {"amount": "100.00", "paid_on": today().isoformat(), "reference": "DISB-1"},
                                    format="json")
    assert response.status_code == 201


def test_same_reference_twice_answers_the_first_result_and_applies_nothing(api, staff, active):
    payment = {"amount": "1000.00", "paid_on": today().isoformat(), "reference": "CB-DUP-1"}
    first = api(staff.gen).post(url(active, "repayments"), payment, format="json")
    after_first = ledger_state(active)
    again = api(staff.gen).post(url(active, "repayments"), payment, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Repayment.objects.filter(reference="CB-DUP-1").count() == 1
    assert ledger_state(active) == after_first


@pytest.mark.parametrize(("amount", "code"), [
    ("0", "amount"), ("0.00", "amount"), ("-5.00", "amount"), ("10.123", "amount"), ("OVER", "overpayment"),
])
def test_bad_amounts_are_refused_with_a_code_and_nothing_is_written(api, staff, active, amount, code):
    if amount == "OVER":
        amount = str(outstanding_total(active) + Decimal("0.01"))
    before = ledger_state(active)
    response = api(staff.gen).post(url(active, "repayments"),
                                   {"amount": amount, "paid_on": today().isoformat(), "reference": "CB-BAD"},
                                   format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code and body["detail"]
    assert ledger_state(active) == before
    assert not Repayment.objects.filter(reference="CB-BAD").exists()


def test_paying_exactly_everything_owed_is_accepted(api, staff, active):
    owed = outstanding_total(active)
    response = api(staff.gen).post(url(active, "repayments"),
                                   {"amount": str(owed), "paid_on": today().isoformat(), "reference": "CB-ALL"},
                                   format="json")
    assert response.status_code == 201
    assert Decimal(response.json()["to_principal"]) == Decimal("100000.00")
    assert outstanding_total(active) == 0


def test_missing_fields_are_field_errors(api, staff, active):
    before = ledger_state(active)
    response = api(staff.gen).post(url(active, "repayments"), {"amount": "abc"}, format="json")
    assert response.status_code == 400
    assert {"amount", "paid_on", "reference"} <= set(response.json())
    assert ledger_state(active) == before


def test_reference_used_for_another_loan_is_a_409(api, staff, flow, product, customer, active):
    other = activate(flow, staff, LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt))
    payment = {"amount": "500.00", "paid_on": today().isoformat(), "reference": "CB-SHARED"}
    assert api(staff.gen).post(url(active, "repayments"), payment, format="json").status_code == 201
    before = ledger_state(other)
    response = api(staff.gen).post(url(other, "repayments"), payment, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "reference_reused"
    assert ledger_state(other) == before


@pytest.mark.parametrize("who", ["mkt", "inv", "rev", "appr", "clerk", "arch", "boss"])
def test_wrong_posts_may_not_post_repayments(api, staff, active, who):
    before = ledger_state(active)
    response = api(getattr(staff, who)).post(url(active, "repayments"),
                                             {"amount": "100.00", "paid_on": today().isoformat(), "reference": "X-1"},
                                             format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "post_required"
    assert ledger_state(active) == before


def test_outside_the_data_scope_is_404(api, staff, active):
    client = api(staff.mkt2)  # another marketing officer's loan
    assert client.get(url(active, "schedule")).status_code == 404
    assert client.get(url(active, "repayments")).status_code == 404
    before = ledger_state(active)
    response = client.post(url(active, "repayments"),
                           {"amount": "100.00", "paid_on": today().isoformat(), "reference": "X-2"}, format="json")
    assert response.status_code == 404
    assert ledger_state(active) == before


def test_anonymous_gets_no_schedule(api, active):
    assert api(None).get(url(active, "schedule")).status_code in (401, 403)


def test_repayment_to_a_loan_not_yet_active_is_409(api, staff, flow, draft):
    loan = flow.advance(draft, Status.READY_TO_DISBURSE)
    response = api(staff.gen).post(url(loan, "repayments"),
                                   {"amount": "100.00", "paid_on": today().isoformat(), "reference": "X-3"},
                                   format="json")
    assert response.status_code == 409 and response.json()["code"] == "invalid_state"
    assert not Repayment.objects.exists()


def test_schema_documents_schedule_and_repayments(api, staff):
    schema = api(staff.gen).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "get" in schema["paths"]["/api/loans/{id}/schedule/"]
    repayments = schema["paths"]["/api/loans/{id}/repayments/"]
    assert set(repayments["post"]["responses"]) >= {"200", "201", "400", "403", "404", "409"}
    component = repayments["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][component]["properties"]) == {"amount", "paid_on", "reference"}
    installment = schema["paths"]["/api/loans/{id}/schedule/"]["get"]["responses"]["200"]["content"]["application/json"]
    row = installment["schema"]["items"]["$ref"].rsplit("/", 1)[-1]
    assert {"number", "due_date", "principal", "interest", "paid_principal", "paid_interest", "penalty",
            "status"} <= set(schema["components"]["schemas"][row]["properties"])
