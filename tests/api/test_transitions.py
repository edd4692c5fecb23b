"""Every transition of ``loancenter.transitions.REGISTRY`` through ``POST /api/loans/{id}/transitions/{name}/``.

For each: the right post succeeds; every wrong post is refused (403, or 404 where the loan is outside the
post's data scope); a wrong state answers 409 ``invalid_state``; the separation-of-duty conflicts of SPEC §4
answer 403 ``separation_of_duty``; and every refusal leaves the loan row and its audit trail as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from applications.models import Loan, Status
from applications.selectors import loans_visible_to
from applications.workflow import STEPS, posts_for
from loancenter.lib.dates import today
from loancenter.services import staff_create
from loancenter.transitions import REGISTRY, perform
from postloan.models import WriteOff
from postloan.services import outstanding_total, repayment_post
from postloan.write_off import write_off_approve, write_off_propose, write_off_review
from tests.api.conftest import drive, snapshot, transition_data
from tests.conftest import PASSWORD, PERSONAS
from tests.factories import (
    CustomerFactory,
    LoanFactory,
    ProductFactory,
    SecuredProductFactory,
    add_collateral,
    add_guarantor,
)

REASON = "经审查,借款人收入证明不足"


@dataclass(frozen=True)
class Case:
    start: str  # the state the loan is brought to first
    actor: str  # the persona whose post performs it
    to: str  # the state it ends in
    secured: bool = False
    dual: bool = False  # a two-person product whose first investigator has filed the report (rule 26)


CASES = {
    "submit": Case(Status.DRAFT, "mkt", Status.SUBMITTED),
    "start_investigation": Case(Status.SUBMITTED, "inv", Status.INVESTIGATING),
    "complete_investigation": Case(Status.INVESTIGATING, "inv", Status.UNDER_REVIEW),
    "cosign_investigation": Case(Status.INVESTIGATING, "inv2", Status.UNDER_REVIEW, dual=True),
    "pass_review": Case(Status.UNDER_REVIEW, "rev", Status.PENDING_APPROVAL),
    "return_to_marketing": Case(Status.UNDER_REVIEW, "rev", Status.DRAFT),
    "approve": Case(Status.PENDING_APPROVAL, "appr", Status.APPROVED),
    "reject": Case(Status.PENDING_APPROVAL, "appr", Status.REJECTED),
    "return_to_review": Case(Status.PENDING_APPROVAL, "appr", Status.UNDER_REVIEW),
    "escalate": Case(Status.PENDING_APPROVAL, "appr", Status.PENDING_BRANCH_APPROVAL),
    "sign_contract": Case(Status.APPROVED, "mkt", Status.CONTRACT_SIGNED),
    "register_collateral": Case(Status.CONTRACT_SIGNED, "clerk", Status.COLLATERAL_REGISTERED, secured=True),
    "prepare_receipt": Case(Status.CONTRACT_SIGNED, "rev", Status.READY_TO_DISBURSE),
    "disburse": Case(Status.READY_TO_DISBURSE, "disb", Status.ACTIVE),
    "settle": Case(Status.ACTIVE, "gen", Status.SETTLED),
    "write_off": Case(Status.ACTIVE, "gen", Status.WRITTEN_OFF),
    "withdraw": Case(Status.SUBMITTED, "mkt", Status.WITHDRAWN),
}
REASON_TRANSITIONS = {"return_to_marketing", "reject", "return_to_review", "escalate", "withdraw", "write_off"}
NAMES = sorted(REGISTRY)


def url(loan: Loan, name: str) -> str:
    return f"/api/loans/{loan.pk}/transitions/{name}/"


def data_for(staff, loan: Loan, name: str, actor=None) -> dict:
    if name in REASON_TRANSITIONS:
        return {"reason": REASON}
    return transition_data(staff, loan, name, actor)


def loan_in(staff, flow, case: Case, *, product=None) -> Loan:
    if case.secured:
        product = product or SecuredProductFactory(code="house")
        loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
        add_collateral(loan)
        return flow.advance(loan, case.start)
    if case.dual:
        product = ProductFactory(code="dual", dual_investigation=True)
    loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
    loan = drive(staff, loan, case.start)
    if case.dual:
        perform("complete_investigation", loan_id=loan.pk, actor=staff.inv,
                data=transition_data(staff, loan, "complete_investigation", staff.inv))
    return loan


def ready_for(staff, loan: Loan, name: str) -> None:
    """What must have happened outside the lifecycle before the transition makes sense."""
    if name == "settle":
        repayment_post(loan_id=loan.pk, actor=staff.gen, amount=outstanding_total(loan), paid_on=today(),
                       reference=f"PAYOFF-{loan.pk}")
    if name == "write_off":  # rule 21: proposed, reviewed and approved by three different people first
        proposal = write_off_propose(loan_id=loan.pk, actor=staff.gen, reason=REASON,
                                     legal_documents=[WriteOff.LEGAL_DOCUMENTS[0][0]])
        write_off_review(write_off_id=proposal.pk, actor=staff.rev)
        write_off_approve(write_off_id=proposal.pk, actor=staff.boss)


@pytest.fixture
def product(db):
    return ProductFactory(code="consumer")


def test_every_registered_transition_has_a_case_here():
    missing = sorted(set(REGISTRY) - set(CASES))
    assert not missing, f"add a Case for {missing} so the API tests cover it"


@pytest.mark.parametrize("name", NAMES)
def test_the_right_post_performs_the_transition(name, api, staff, flow, product):
    case = CASES[name]
    loan = loan_in(staff, flow, case, product=None if case.secured else product)
    ready_for(staff, loan, name)
    actor = getattr(staff, case.actor)
    last_entry = loan.audit_entries.order_by("-id").values_list("id", flat=True).first() or 0

    response = api(actor).post(url(loan, name), data_for(staff, loan, name), format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == case.to
    assert response.json()["id"] == loan.pk
    loan.refresh_from_db()
    assert loan.status == case.to
    # Exactly one audit row for the transition (other apps may add their own rows, e.g. the archive checklist).
    rows = list(loan.audit_entries.filter(id__gt=last_entry, action=name)
                .values_list("actor_id", "from_status", "to_status"))
    assert rows == [(actor.pk, case.start, case.to)]


@pytest.mark.parametrize("name", NAMES)
def test_every_wrong_post_is_refused_and_nothing_changes(name, api, staff, flow, product):
    case = CASES[name]
    loan = loan_in(staff, flow, case, product=None if case.secured else product)
    ready_for(staff, loan, name)
    allowed = set(posts_for(STEPS[name], loan))
    before = snapshot(loan)
    payload = data_for(staff, loan, name)
    wrong = [p for p, (posts, _limit) in PERSONAS.items() if posts and not allowed & set(posts)]
    refused_403 = 0
    for persona in wrong:
        user = getattr(staff, persona)
        response = api(user).post(url(loan, name), payload, format="json")
        if loans_visible_to(user).filter(pk=loan.pk).exists():
            refused_403 += 1
            assert response.status_code == 403, (persona, response.json())
            assert response.json()["code"] == "post_required", persona
            assert response.json()["detail"]
        else:
            assert response.status_code == 404, persona  # outside their data scope the loan does not exist
    assert refused_403 >= 1  # at least the posts that see every loan (general, archivist, manager) get the 403
    assert snapshot(loan) == before


@pytest.mark.parametrize("name", NAMES)
def test_a_wrong_state_answers_409_and_nothing_changes(name, api, staff, product):
    loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
    drive(staff, loan, Status.PENDING_APPROVAL)
    perform("reject", loan_id=loan.pk, actor=staff.appr, data={"reason": REASON})  # terminal: every post sees it
    before = snapshot(loan)
    actor = getattr(staff, CASES[name].actor)
    response = api(actor).post(url(loan, name), data_for(staff, loan, name), format="json")
    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "invalid_state"
    assert response.json()["detail"]
    assert snapshot(loan) == before


def test_an_unknown_transition_name_is_404(api, staff, draft):
    response = api(staff.mkt).post(url(draft, "teleport"), {}, format="json")
    assert response.status_code == 404
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_another_officer_cannot_act_on_the_loan(api, staff, draft):
    before = snapshot(draft)
    for name in ("submit", "withdraw"):
        assert api(staff.mkt2).post(url(draft, name), data_for(staff, draft, name), format="json").status_code == 404
    assert snapshot(draft) == before


# ---------------------------------------------------------------------------------------------------------------
# Separation of duty (SPEC §4): staff holding several posts, and staff who are party to the loan.


def person(username: str, posts: list[str], *, id_number: str = "") -> object:
    limit = Decimal("1000000.00") if {"approver", "branch_approver"} & set(posts) else None
    return staff_create(username=username, posts=posts, approval_limit=limit, password=PASSWORD,
                        id_number=id_number, full_name=username)


# (case id, posts of the person, steps they perform on the way, where the loan stops, the conflicting attempt)
SOD_CASES = [
    ("marketing_then_investigates", ["marketing", "investigator"], "officer", [], Status.SUBMITTED,
     "start_investigation"),
    ("marketing_then_reviews", ["marketing", "reviewer"], "officer", [], Status.UNDER_REVIEW, "pass_review"),
    ("marketing_then_approves", ["marketing", "approver"], "officer", [], Status.PENDING_APPROVAL, "approve"),
    ("marketing_then_disburses", ["marketing", "disbursement"], "officer", [], Status.READY_TO_DISBURSE, "disburse"),
    ("investigator_then_reviews", ["investigator", "reviewer"], None,
     ["start_investigation", "complete_investigation"], Status.UNDER_REVIEW, "pass_review"),
    ("investigator_then_approves", ["investigator", "approver"], None,
     ["start_investigation", "complete_investigation"], Status.PENDING_APPROVAL, "approve"),
    ("reviewer_then_approves", ["reviewer", "approver"], None, ["pass_review"], Status.PENDING_APPROVAL, "approve"),
    ("reviewer_then_rejects", ["reviewer", "approver"], None, ["pass_review"], Status.PENDING_APPROVAL, "reject"),
    ("approver_then_disburses", ["approver", "disbursement"], None, ["approve"], Status.READY_TO_DISBURSE,
     "disburse"),
]


@pytest.mark.parametrize(("posts", "role", "steps", "stop", "attempt"), [c[1:] for c in SOD_CASES],
                         ids=[c[0] for c in SOD_CASES])
def test_one_person_may_not_hold_two_conflicting_roles_on_a_loan(api, staff, product, posts, role, steps, stop,
                                                                 attempt):
    dual = person("dual", posts)
    officer = dual if role == "officer" else staff.mkt
    loan = LoanFactory(customer=CustomerFactory(officer=officer), product=product, marketing_officer=officer)
    drive(staff, loan, stop, acting={step: dual for step in steps})
    before = snapshot(loan)

    response = api(dual).post(url(loan, attempt), data_for(staff, loan, attempt, dual), format="json")

    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "separation_of_duty"
    assert response.json()["detail"]
    assert snapshot(loan) == before


@pytest.mark.parametrize(("party", "post", "stop", "attempt"), [
    ("borrower", "investigator", Status.SUBMITTED, "start_investigation"),
    ("borrower", "reviewer", Status.UNDER_REVIEW, "pass_review"),
    ("guarantor", "approver", Status.PENDING_APPROVAL, "approve"),
    ("guarantor", "disbursement", Status.READY_TO_DISBURSE, "disburse"),
])
def test_staff_who_borrow_or_guarantee_may_do_nothing_on_the_loan(api, staff, product, party, post, stop, attempt):
    borrower = CustomerFactory(officer=staff.mkt)
    backer = CustomerFactory(officer=staff.mkt, name="赵敏")
    loan = LoanFactory(customer=borrower, product=product, marketing_officer=staff.mkt)
    add_guarantor(loan, backer)
    insider = person("insider", [post], id_number=(borrower if party == "borrower" else backer).id_number)
    drive(staff, loan, stop)
    before = snapshot(loan)

    response = api(insider).post(url(loan, attempt), data_for(staff, loan, attempt, insider), format="json")

    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "separation_of_duty"
    assert snapshot(loan) == before


# ---------------------------------------------------------------------------------------------------------------
# Authority limit, escalation, bad input


def test_approval_above_the_limit_is_refused_then_escalated_and_approved_by_the_branch(api, staff, product):
    loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt,
                       amount=Decimal("250000.00"))
    drive(staff, loan, Status.PENDING_APPROVAL)
    before = snapshot(loan)
    approve = data_for(staff, loan, "approve")

    response = api(staff.appr).post(url(loan, "approve"), approve, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "authority_limit")
    assert "200,000.00" in response.json()["detail"]
    assert snapshot(loan) == before
    assert "escalate" in api(staff.appr).get(f"/api/loans/{loan.pk}/").json()["available_transitions"]

    response = api(staff.appr).post(url(loan, "escalate"), {"reason": "超出本人授权"}, format="json")
    assert response.json()["status"] == "pending_branch_approval"
    # The center's approver no longer decides it; the branch does.
    response = api(staff.appr).post(url(loan, "approve"), approve, format="json")
    assert response.status_code in (403, 404)
    response = api(staff.branch).post(url(loan, "approve"), approve, format="json")
    assert response.status_code == 200, response.json()
    loan.refresh_from_db()
    assert loan.status == Status.APPROVED
    assert loan.approver == staff.branch and loan.approved_amount == Decimal("250000.00")


@pytest.mark.parametrize(("name", "stop", "who", "bad", "field"), [
    ("pass_review", Status.UNDER_REVIEW, "rev", {"amount": "1000.001"}, "amount"),
    ("pass_review", Status.UNDER_REVIEW, "rev", {"amount": "0"}, "amount"),
    ("pass_review", Status.UNDER_REVIEW, "rev", {"amount": "-5.00"}, "amount"),
    ("pass_review", Status.UNDER_REVIEW, "rev", {"amount": "600000.00"}, "amount"),  # above the product maximum
    ("pass_review", Status.UNDER_REVIEW, "rev", {"term_months": 72}, "term_months"),  # outside 6–60
    ("pass_review", Status.UNDER_REVIEW, "rev", {"annual_rate": "abc"}, "annual_rate"),
    ("pass_review", Status.UNDER_REVIEW, "rev", {"annual_rate": "0.2000"}, "annual_rate"),  # above the product's
    ("pass_review", Status.UNDER_REVIEW, "rev", {"repayment_method": "weekly"}, "repayment_method"),
    ("pass_review", Status.UNDER_REVIEW, "rev", {"opinion": ""}, "opinion"),
    ("approve", Status.PENDING_APPROVAL, "appr", {"amount": "1000.001"}, "amount"),
    ("reject", Status.PENDING_APPROVAL, "appr", {"reason": ""}, "reason"),
    ("reject", Status.PENDING_APPROVAL, "appr", {"reason": "理" * 1001}, "reason"),
])
def test_bad_transition_input_is_a_400_field_error_and_changes_nothing(api, staff, product, name, stop, who, bad,
                                                                     field):
    loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
    drive(staff, loan, stop)
    before = snapshot(loan)
    payload = {**data_for(staff, loan, name), **bad}
    response = api(getattr(staff, who)).post(url(loan, name), payload, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json(), response.json()
    assert snapshot(loan) == before


def test_completing_an_investigation_names_real_investigators(api, staff, product):
    loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
    drive(staff, loan, Status.INVESTIGATING)
    before = snapshot(loan)
    payload = {**data_for(staff, loan, "complete_investigation"), "investigators": ["nobody"]}
    response = api(staff.inv).post(url(loan, "complete_investigation"), payload, format="json")
    assert response.status_code == 400
    assert "investigators" in response.json()
    assert snapshot(loan) == before


def test_a_dated_transition_rejects_an_impossible_date(api, staff, product):
    loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
    drive(staff, loan, Status.APPROVED)
    before = snapshot(loan)
    payload = {**data_for(staff, loan, "sign_contract"), "signed_on": "2026-02-30"}
    response = api(staff.mkt).post(url(loan, "sign_contract"), payload, format="json")
    assert response.status_code == 400
    assert "signed_on" in response.json()
    assert snapshot(loan) == before
