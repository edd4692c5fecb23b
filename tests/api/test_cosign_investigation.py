"""Rule 26 (finding 5 of issue 13): a two-person investigation is done by two logins.

The first investigator's ``complete_investigation`` names the second and leaves the loan ``investigating``; the second
co-signs through ``POST /api/loans/{id}/transitions/cosign_investigation/`` {agree, comment}. Found: the first named
the second, who never logged in (a locked account could be named too), and the loan went straight to review.
"""

from __future__ import annotations

import pytest

from applications.models import Investigation, Loan, Status
from applications.selectors import work_queue_counts, work_queue_ids
from loancenter.models import AuditEntry, RefusedAttempt, User
from loancenter.services import staff_create
from tests.api.conftest import drive, transition_data
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, LoanFactory, ProductFactory, add_guarantor

COMPLETE = "api: POST /api/loans/{id}/transitions/complete_investigation/"
COSIGN = "api: POST /api/loans/{id}/transitions/cosign_investigation/"


def url(loan: Loan, name: str) -> str:
    return f"/api/loans/{loan.pk}/transitions/{name}/"


@pytest.fixture
def dual_loan(staff):
    product = ProductFactory(code="dual", dual_investigation=True)
    loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
    return drive(staff, loan, Status.INVESTIGATING)


def report(staff, loan: Loan, *names: str) -> dict:
    return {**transition_data(staff, loan, "complete_investigation"), "investigators": list(names)}


def facts(loan: Loan) -> dict:
    """What a refusal must leave as it was: the loan row, its investigation rounds and their names, its audit trail."""
    return {
        "loan": Loan.objects.filter(pk=loan.pk).values().get(),
        "investigations": list(Investigation.objects.filter(loan=loan).order_by("id").values()),
        "named": sorted(Investigation.investigators.through.objects.filter(investigation__loan=loan)
                        .values_list("user_id", flat=True)),
        "audit": list(AuditEntry.objects.filter(loan=loan).values_list("id", flat=True)),
    }


def assert_refused(response, loan: Loan, before: dict, *, status: int, code: str, actor, action: str) -> None:
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code, response.json()
    assert response.json()["detail"]
    assert facts(loan) == before
    attempt = RefusedAttempt.objects.order_by("-id").first()
    assert (attempt.loan_id_ref, attempt.actor_id, attempt.action, attempt.code) == (loan.pk, actor.pk, action, code)


def available(api, user, loan: Loan) -> list[str]:
    return api(user).get(f"/api/loans/{loan.pk}/").json()["available_transitions"]


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


@pytest.mark.sidedoor(rule="26", path=COMPLETE)
def test_one_login_can_no_longer_complete_a_dual_investigation_alone(api, staff, dual_loan):
    response = api(staff.inv).post(url(dual_loan, "complete_investigation"),
                                   report(staff, dual_loan, "inv", "inv2"), format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == Status.INVESTIGATING  # waiting for the second login
    dual_loan.refresh_from_db()
    assert dual_loan.status == Status.INVESTIGATING
    investigation = dual_loan.investigations.get()
    assert investigation.cosigner == staff.inv2 and investigation.reported_at and investigation.completed_at is None
    assert "complete_investigation" not in available(api, staff.inv, dual_loan)
    assert "cosign_investigation" not in available(api, staff.inv, dual_loan)
    assert available(api, staff.inv2, dual_loan) == ["cosign_investigation"]

    # The first investigator cannot co-sign their own report, nor file it again while it waits.
    before = facts(dual_loan)
    response = api(staff.inv).post(url(dual_loan, "cosign_investigation"), {"agree": True}, format="json")
    assert_refused(response, dual_loan, before, status=403, code="not_assigned", actor=staff.inv,
                   action="cosign_investigation")
    response = api(staff.inv).post(url(dual_loan, "complete_investigation"),
                                   report(staff, dual_loan, "inv", "inv2"), format="json")
    assert_refused(response, dual_loan, before, status=409, code="invalid_state", actor=staff.inv,
                   action="complete_investigation")
    assert "inv2" in response.json()["detail"]

    response = api(staff.inv2).post(url(dual_loan, "cosign_investigation"),
                                    {"agree": True, "comment": "同意调查结论"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == Status.UNDER_REVIEW
    dual_loan.refresh_from_db()
    assert dual_loan.status == Status.UNDER_REVIEW
    investigation.refresh_from_db()
    assert investigation.completed_at is not None and investigation.cosign_comment == "同意调查结论"
    assert set(investigation.investigators.all()) == {staff.inv, staff.inv2}
    trail = list(dual_loan.audit_entries.filter(action__in=["complete_investigation", "cosign_investigation"])
                 .values_list("action", "actor__username", "from_status", "to_status"))
    assert trail == [
        ("complete_investigation", "inv", Status.INVESTIGATING, Status.INVESTIGATING),
        ("cosign_investigation", "inv2", Status.INVESTIGATING, Status.UNDER_REVIEW),
    ]


@pytest.mark.sidedoor(rule="26", path=COMPLETE)
@pytest.mark.parametrize("trouble", ["inactive", "not_investigator"])
def test_naming_a_second_who_cannot_log_in_or_does_not_investigate_is_refused(api, staff, dual_loan, trouble):
    posts = ["reviewer"] if trouble == "not_investigator" else ["investigator"]
    second = staff_create(username="second", posts=posts, password=PASSWORD, full_name="second")
    if trouble == "inactive":
        User.objects.filter(pk=second.pk).update(is_active=False)
    before = facts(dual_loan)

    response = api(staff.inv).post(url(dual_loan, "complete_investigation"),
                                   report(staff, dual_loan, "inv", "second"), format="json")

    expected = (403, "post_required") if trouble == "not_investigator" else (400, "cosigner_unavailable")
    assert_refused(response, dual_loan, before, status=expected[0], code=expected[1], actor=staff.inv,
                   action="complete_investigation")
    assert "second" in response.json()["detail"]


@pytest.mark.sidedoor(rule="26", path=COMPLETE)
def test_a_dual_report_names_exactly_one_second_investigator(api, staff, dual_loan):
    third = staff_create(username="inv3", posts=["investigator"], password=PASSWORD, full_name="inv3")
    for names in (["inv"], ["inv", "inv"], ["inv", "inv2", third.username]):
        before = facts(dual_loan)
        response = api(staff.inv).post(url(dual_loan, "complete_investigation"), report(staff, dual_loan, *names),
                                       format="json")
        assert_refused(response, dual_loan, before, status=400, code="dual_investigation", actor=staff.inv,
                       action="complete_investigation")


@pytest.mark.sidedoor(rule="26", path=COMPLETE)
def test_only_the_assigned_investigator_completes_the_report(api, staff, dual_loan):
    before = facts(dual_loan)
    response = api(staff.inv2).post(url(dual_loan, "complete_investigation"),
                                    report(staff, dual_loan, "inv2", "inv"), format="json")
    assert_refused(response, dual_loan, before, status=403, code="not_assigned", actor=staff.inv2,
                   action="complete_investigation")
    assert "complete_investigation" not in available(api, staff.inv2, dual_loan)


@pytest.mark.sidedoor(rule="26", path=COSIGN)
def test_cosigning_by_anyone_but_the_named_second_is_refused(api, staff, dual_loan):
    third = staff_create(username="inv3", posts=["investigator"], password=PASSWORD, full_name="inv3")
    api(staff.inv).post(url(dual_loan, "complete_investigation"), report(staff, dual_loan, "inv", "inv2"),
                        format="json")
    before = facts(dual_loan)

    response = api(third).post(url(dual_loan, "cosign_investigation"), {"agree": True}, format="json")
    assert_refused(response, dual_loan, before, status=403, code="not_assigned", actor=third,
                   action="cosign_investigation")
    response = api(staff.rev).post(url(dual_loan, "cosign_investigation"), {"agree": True}, format="json")
    assert response.status_code in (403, 404)  # a reviewer does not see a loan still under investigation
    assert facts(dual_loan) == before
    assert "cosign_investigation" not in available(api, third, dual_loan)


@pytest.mark.sidedoor(rule="26", path=COSIGN)
def test_nothing_to_cosign_before_the_report_is_filed(api, staff, dual_loan):
    before = facts(dual_loan)
    response = api(staff.inv2).post(url(dual_loan, "cosign_investigation"), {"agree": True}, format="json")
    assert_refused(response, dual_loan, before, status=409, code="invalid_state", actor=staff.inv2,
                   action="cosign_investigation")


@pytest.mark.sidedoor(rule="26", path=COSIGN)
def test_disagreeing_returns_the_report_to_the_first_investigator(api, staff, dual_loan):
    api(staff.inv).post(url(dual_loan, "complete_investigation"), report(staff, dual_loan, "inv", "inv2"),
                        format="json")
    assert work_queue_ids(fresh(staff.inv2), 0, 50) == [dual_loan.pk]
    assert work_queue_counts(fresh(staff.inv2)).get(Status.INVESTIGATING) == 1
    assert dual_loan.pk not in work_queue_ids(fresh(staff.inv), 0, 50)  # it waits for the second, not the first

    before = facts(dual_loan)
    response = api(staff.inv2).post(url(dual_loan, "cosign_investigation"), {"agree": False, "comment": " "},
                                    format="json")
    assert_refused(response, dual_loan, before, status=400, code="comment_required", actor=staff.inv2,
                   action="cosign_investigation")
    assert "comment" in response.json()
    response = api(staff.inv2).post(url(dual_loan, "cosign_investigation"), {"comment": "缺少意见"}, format="json")
    assert response.status_code == 400 and "agree" in response.json()
    assert facts(dual_loan) == before

    response = api(staff.inv2).post(url(dual_loan, "cosign_investigation"),
                                    {"agree": False, "comment": "收入未经银行流水核实"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == Status.INVESTIGATING
    investigation = dual_loan.investigations.get()
    assert investigation.reported_at is None and investigation.completed_at is None
    assert investigation.cosign_comment == "收入未经银行流水核实" and investigation.returned_at is not None
    assert available(api, staff.inv, dual_loan) == ["complete_investigation"]
    assert "cosign_investigation" not in available(api, staff.inv2, dual_loan)
    assert dual_loan.pk in work_queue_ids(fresh(staff.inv), 0, 50)
    assert dual_loan.pk not in work_queue_ids(fresh(staff.inv2), 0, 50)
    entry = dual_loan.audit_entries.filter(action="cosign_investigation").get()
    assert (entry.actor, entry.from_status, entry.to_status) == (staff.inv2, Status.INVESTIGATING,
                                                                 Status.INVESTIGATING)
    assert entry.payload == {"agree": False, "comment": "收入未经银行流水核实"}

    # Corrected and filed again, it waits for the co-signature once more; the agreement sends it to review.
    response = api(staff.inv).post(url(dual_loan, "complete_investigation"), report(staff, dual_loan, "inv", "inv2"),
                                   format="json")
    assert response.json()["status"] == Status.INVESTIGATING
    response = api(staff.inv2).post(url(dual_loan, "cosign_investigation"), {"agree": True}, format="json")
    assert response.json()["status"] == Status.UNDER_REVIEW


@pytest.mark.sidedoor(rule="sod", path=COMPLETE)
def test_the_second_investigator_is_subject_to_separation_of_duty(api, staff):
    """The loan's own marketing officer, also an investigator, cannot be named its second investigator."""
    officer = staff_create(username="mktinv", posts=["marketing", "investigator"], password=PASSWORD,
                           full_name="mktinv")
    product = ProductFactory(code="dual", dual_investigation=True)
    loan = LoanFactory(customer=CustomerFactory(officer=officer), product=product, marketing_officer=officer)
    drive(staff, loan, Status.INVESTIGATING)
    before = facts(loan)

    response = api(staff.inv).post(url(loan, "complete_investigation"), report(staff, loan, "inv", "mktinv"),
                                   format="json")

    assert_refused(response, loan, before, status=403, code="separation_of_duty", actor=staff.inv,
                   action="complete_investigation")


def test_a_product_without_two_person_investigation_goes_to_review_at_once(api, staff, product):
    loan = drive(staff, LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product,
                                    marketing_officer=staff.mkt), Status.INVESTIGATING)
    response = api(staff.inv).post(url(loan, "complete_investigation"), report(staff, loan, "inv"), format="json")
    assert response.json()["status"] == Status.UNDER_REVIEW
    investigation = loan.investigations.get()
    assert investigation.completed_at is not None and investigation.cosigner is None


@pytest.mark.sidedoor(rule="sod", path="api: POST /api/loans/{id}/transitions/cosign_investigation/")
def test_the_cosignature_itself_is_checked_for_separation_of_duty(api, staff):
    """Named while unconflicted, the second turns out to guarantee the loan: their ID number recorded since."""
    guarantor = CustomerFactory(officer=staff.mkt, name="赵敏")
    loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), marketing_officer=staff.mkt,
                       product=ProductFactory(code="dual", dual_investigation=True))
    add_guarantor(loan, guarantor)
    drive(staff, loan, Status.INVESTIGATING)
    response = api(staff.inv).post(url(loan, "complete_investigation"), report(staff, loan, "inv", "inv2"),
                                   format="json")
    assert response.json()["status"] == Status.INVESTIGATING
    User.objects.filter(pk=staff.inv2.pk).update(id_number=guarantor.id_number)
    before = facts(loan)

    response = api(staff.inv2).post(url(loan, "cosign_investigation"), {"agree": True}, format="json")

    assert_refused(response, loan, before, status=403, code="separation_of_duty", actor=staff.inv2,
                   action="cosign_investigation")
