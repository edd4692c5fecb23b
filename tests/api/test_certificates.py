"""Finding 7 (rule 28): one certificate backs one live loan, whatever way its number is typed (rule 25).

Checked when the collateral is entered (400) and again at submit, review, approval and registration (SPEC §16.16):
the later checks catch a certificate that reached another live loan some other way (rows from before the rule, two
entries at the same moment).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from applications.models import Collateral, Loan, Status
from disbursement.models import CollateralRegistration
from loancenter.lib.dates import today
from loancenter.models import RefusedAttempt
from loancenter.transitions import perform
from tests.api.conftest import drive, snapshot, transition_data
from tests.api.test_loans import loan_payload
from tests.factories import CustomerFactory, LoanFactory, SecuredProductFactory, add_collateral

CERTIFICATE = "京(2025)东城区不动产权第0001号"
TYPED_OTHERWISE = ["京（２０２５）东城区不动产权第０００１号", "京〔2025〕东城区 不动产权第 0001 号", " 京(2025)东城区不动产权第0001号\u3000"]


@pytest.fixture
def house(db):
    return SecuredProductFactory(code="house")


def collateral(certificate_no: str, owner: str = "张伟") -> dict:
    return {"kind": "property", "description": "东城区某小区1号楼101", "owner_name": owner, "certificate_no": certificate_no,
            "appraised_value": "1000000.00", "appraised_on": (today() - timedelta(days=10)).isoformat(),
            "disposer_consent": True}


def house_payload(customer, house, certificate_no: str) -> dict:
    return loan_payload(customer, house, amount="500000.00", term_months=240, purpose="house_purchase",
                        documents=["id_card", "income_proof", "property_certificate"],
                        collaterals=[collateral(certificate_no, customer.name)])


def enter(api, staff, customer, house, certificate_no: str):
    return api(staff.mkt).post("/api/loans/", house_payload(customer, house, certificate_no), format="json")


@pytest.mark.sidedoor(rule="28", path="api: POST /api/loans/")
@pytest.mark.parametrize("typed", TYPED_OTHERWISE)
def test_a_certificate_backing_a_live_loan_cannot_back_a_second_one(api, staff, customer, house, typed):
    first = enter(api, staff, customer, house, CERTIFICATE)
    assert first.status_code == 201, first.json()
    other = CustomerFactory(officer=staff.mkt, name="王芳")
    second = enter(api, staff, other, house, typed)
    assert second.status_code == 400, second.json()
    body = second.json()
    assert body["code"] == "certificate_in_use"
    assert first.json()["application_no"] in body["detail"] and "rule 28" in body["detail"]
    assert list(Loan.objects.values_list("pk", flat=True)) == [first.json()["id"]]
    assert list(Collateral.objects.values_list("certificate_no", flat=True)) == [CERTIFICATE]


def test_the_certificate_is_stored_in_its_normal_form(api, staff, customer, house):
    response = enter(api, staff, customer, house, TYPED_OTHERWISE[0])
    assert response.status_code == 201, response.json()
    assert response.json()["collaterals"][0]["certificate_no"] == CERTIFICATE


def test_one_application_cannot_list_a_certificate_twice(api, staff, customer, house):
    payload = house_payload(customer, house, CERTIFICATE)
    payload["collaterals"].append(collateral(TYPED_OTHERWISE[1]))
    response = api(staff.mkt).post("/api/loans/", payload, format="json")
    assert response.status_code == 400 and response.json()["code"] == "certificate_listed_twice"
    assert not Loan.objects.exists()


@pytest.mark.parametrize("ended", [Status.WITHDRAWN, Status.REJECTED])
def test_a_certificate_is_free_again_once_its_loan_is_withdrawn_or_rejected(api, staff, customer, house, ended):
    first = Loan.objects.get(pk=enter(api, staff, customer, house, CERTIFICATE).json()["id"])
    if ended == Status.WITHDRAWN:
        perform("withdraw", loan_id=first.pk, actor=staff.mkt, data={"reason": "客户放弃"})
    else:
        drive(staff, first, Status.PENDING_APPROVAL)
        perform("reject", loan_id=first.pk, actor=staff.appr, data={"reason": "抵押物不足"})
    first.refresh_from_db()
    assert first.status == ended
    assert enter(api, staff, CustomerFactory(officer=staff.mkt), house, TYPED_OTHERWISE[0]).status_code == 201


@pytest.mark.sidedoor(rule="28", path="api: PATCH /api/loans/{id}/")
def test_a_draft_cannot_be_corrected_to_another_live_loans_certificate(api, staff, customer, house):
    first = enter(api, staff, customer, house, CERTIFICATE).json()
    draft = enter(api, staff, CustomerFactory(officer=staff.mkt), house, "京(2025)东城区不动产权第0002号").json()
    before = snapshot(Loan.objects.get(pk=draft["id"]))
    response = api(staff.mkt).patch(f"/api/loans/{draft['id']}/", {"collaterals": [collateral(TYPED_OTHERWISE[2])]},
                                    format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "certificate_in_use" and first["application_no"] in response.json()["detail"]
    assert snapshot(Loan.objects.get(pk=draft["id"])) == before
    assert list(Collateral.objects.filter(loan_id=draft["id"]).values_list("certificate_no", flat=True)) == [
        "京(2025)东城区不动产权第0002号"]


def test_a_draft_keeps_its_own_certificate_when_corrected(api, staff, customer, house):
    draft = enter(api, staff, customer, house, CERTIFICATE).json()
    response = api(staff.mkt).patch(f"/api/loans/{draft['id']}/", {"amount": "450000.00"}, format="json")
    assert response.status_code == 200, response.json()


# The later steps. The second loan's certificate reaches a live loan after it was entered: written as a row from before
# the rule would be (the factory writes it directly, in full-width digits that the column normalises).


def _loan_with_certificate(staff, customer, house, certificate_no=CERTIFICATE) -> Loan:
    loan = LoanFactory(customer=customer, product=house, marketing_officer=staff.mkt, amount="150000.00",
                       term_months=240, purpose="house_purchase")
    add_collateral(loan, certificate_no=certificate_no)
    return loan


def _refused(api, actor, loan: Loan, name: str, data: dict) -> None:
    before = snapshot(loan)
    response = api(actor).post(f"/api/loans/{loan.pk}/transitions/{name}/", data, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "certificate_in_use"
    assert snapshot(loan) == before
    assert RefusedAttempt.objects.filter(action=name, loan_id_ref=loan.pk, code="certificate_in_use").exists()


@pytest.mark.sidedoor(rule="28", path="api: POST /api/loans/{id}/transitions/submit/")
def test_submit_refuses_a_certificate_that_backs_another_live_loan(api, staff, customer, house):
    loan = _loan_with_certificate(staff, customer, house)
    _loan_with_certificate(staff, CustomerFactory(officer=staff.mkt), house, TYPED_OTHERWISE[0])
    _refused(api, staff.mkt, loan, "submit", {})


@pytest.mark.sidedoor(rule="28", path="api: POST /api/loans/{id}/transitions/pass_review/")
def test_review_refuses_a_certificate_that_backs_another_live_loan(api, staff, customer, house):
    loan = drive(staff, _loan_with_certificate(staff, customer, house), Status.UNDER_REVIEW)
    _loan_with_certificate(staff, CustomerFactory(officer=staff.mkt), house, TYPED_OTHERWISE[1])
    _refused(api, staff.rev, loan, "pass_review", transition_data(staff, loan, "pass_review"))


@pytest.mark.sidedoor(rule="28", path="api: POST /api/loans/{id}/transitions/approve/")
def test_approval_refuses_a_certificate_that_backs_another_live_loan(api, staff, customer, house):
    loan = drive(staff, _loan_with_certificate(staff, customer, house), Status.PENDING_APPROVAL)
    _loan_with_certificate(staff, CustomerFactory(officer=staff.mkt), house, TYPED_OTHERWISE[0])
    _refused(api, staff.appr, loan, "approve", transition_data(staff, loan, "approve"))


@pytest.mark.sidedoor(rule="28", path="api: POST /api/loans/{id}/transitions/register_collateral/")
def test_registration_refuses_a_certificate_that_backs_another_live_loan(api, staff, customer, house):
    loan = drive(staff, _loan_with_certificate(staff, customer, house), Status.CONTRACT_SIGNED)
    _loan_with_certificate(staff, CustomerFactory(officer=staff.mkt), house, TYPED_OTHERWISE[2])
    _refused(api, staff.clerk, loan, "register_collateral", transition_data(staff, loan, "register_collateral"))
    assert not CollateralRegistration.objects.filter(loan=loan, registered_on__isnull=False).exists()
