"""Finding 4 (rule 25) through the API: an ID number, phone or contract number typed with full-width or Arabic-Indic
digits, a lower-case x or spaces is the same number, so the same borrower cannot register twice and escape the
warning list or the staff-borrower check."""

from __future__ import annotations

from datetime import date

import pytest

from applications.models import Customer, Status
from disbursement.models import Contract
from loancenter.models import RefusedAttempt
from loancenter.services import staff_create
from tests.api.conftest import drive, snapshot, transition_data
from tests.api.test_customers import customer_payload
from tests.factories import LoanFactory, id_number_for

ID = id_number_for(date(1979, 10, 1), male=False)
FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
# Finding 4's number had full-width digits and an ASCII check character (``１１０１０５…2``): ``\d`` took every digit
# and the check character matched, so it was a new person. (With the check character in full width too, the old
# code refused it by accident: it compared an ASCII check character with a full-width one.)
TWIN = ID[:17].translate(FULL_WIDTH) + ID[17]
SPELLINGS = {
    "full-width": TWIN,
    "full-width-check-character": ID.translate(FULL_WIDTH),
    "arabic-indic": ID[:17].translate(ARABIC_INDIC) + ID[17],
    "spaced": f" {ID[:6]} {ID[6:14]} {ID[14:]} ",
}


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_a_new_customer_typed_with_other_digits_is_stored_in_ascii(api, staff, spelling):
    response = api(staff.mkt).post("/api/customers/", customer_payload(id_number=SPELLINGS[spelling],
                                                                       phone="１３９ １２３４ ５６７８"), format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["id_number"], response.json()["phone"]) == (ID, "13912345678")
    assert Customer.objects.values_list("id_number", "phone").get() == (ID, "13912345678")


@pytest.mark.sidedoor(rule="25", path="api: POST /api/customers/")
@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_the_same_borrower_typed_differently_cannot_register_twice(api, staff, spelling):
    first = api(staff.mkt).post("/api/customers/", customer_payload(id_number=ID), format="json")
    assert first.status_code == 201
    twin = api(staff.mkt2).post("/api/customers/", customer_payload(id_number=SPELLINGS[spelling], phone="13900000002"),
                                format="json")
    assert twin.status_code == 400, twin.json()
    assert "id_number" in twin.json()
    assert list(Customer.objects.values_list("id_number", flat=True)) == [ID]


def test_a_lower_case_x_is_the_same_check_character(api, staff):
    x_id = "11010519491231002X"
    assert api(staff.mkt).post("/api/customers/", customer_payload(id_number=x_id.lower()), format="json").status_code == 201
    twin = api(staff.mkt).post("/api/customers/", customer_payload(id_number=x_id.translate(FULL_WIDTH).lower()),
                               format="json")
    assert twin.status_code == 400 and "id_number" in twin.json()
    assert list(Customer.objects.values_list("id_number", flat=True)) == [x_id]


@pytest.mark.sidedoor(rule="2", path="api: POST /api/customers/ (a full-width twin of a listed customer)")
def test_a_customer_on_the_warning_list_cannot_come_back_as_a_full_width_twin(api, staff):
    listed = api(staff.mkt).post("/api/customers/", customer_payload(id_number=ID), format="json").json()
    assert api(staff.boss).patch(f"/api/customers/{listed['id']}/", {"on_warning_list": True, "reason": "逾期"},
                                format="json").status_code == 200
    twin = api(staff.mkt2).post("/api/customers/", customer_payload(id_number=TWIN,
                                                                    name="王芳(新)", phone="13900000003"), format="json")
    assert twin.status_code == 400
    # The only row is the listed one, so every application for this person meets rule 2.
    assert list(Customer.objects.values_list("id_number", "on_warning_list")) == [(ID, True)]


@pytest.mark.sidedoor(rule="25", path="api: PATCH /api/customers/{id}/ (phone)")
def test_a_phone_changed_through_patch_is_stored_in_ascii(api, staff):
    created = api(staff.mkt).post("/api/customers/", customer_payload(id_number=ID), format="json").json()
    response = api(staff.mkt).patch(f"/api/customers/{created['id']}/", {"phone": "+86 １３７-００００-１１１１"},
                                    format="json")
    assert response.status_code == 200, response.json()
    assert Customer.objects.get(pk=created["id"]).phone == "13700001111"


def test_patching_the_same_id_number_in_other_digits_is_not_a_change(api, staff):
    created = api(staff.mkt).post("/api/customers/", customer_payload(id_number=ID), format="json").json()
    response = api(staff.mkt).patch(f"/api/customers/{created['id']}/", {"id_number": ID.translate(FULL_WIDTH)},
                                    format="json")
    assert response.status_code == 200, response.json()
    assert Customer.objects.get(pk=created["id"]).id_number == ID


@pytest.mark.sidedoor(rule="sod", path="api: POST /api/customers/ (staff borrower typed with full-width digits)")
def test_the_staff_borrower_check_catches_a_full_width_registration(api, staff):
    approver = staff_create(username="appr_borrower", posts=["approver"], approval_limit=staff.appr.approval_limit,
                            id_number=ID, password="test-pass-123")
    body = api(staff.mkt).post("/api/customers/", customer_payload(id_number=TWIN), format="json").json()
    loan = LoanFactory(customer=Customer.objects.get(pk=body["id"]), product=_product(), marketing_officer=staff.mkt)
    loan = drive(staff, loan, Status.PENDING_APPROVAL)
    before = snapshot(loan)
    response = api(approver).post(f"/api/loans/{loan.pk}/transitions/approve/",
                                  transition_data(staff, loan, "approve"), format="json")
    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "separation_of_duty"
    assert snapshot(loan) == before
    assert RefusedAttempt.objects.filter(actor=approver, action="approve", loan_id_ref=loan.pk,
                                         code="separation_of_duty").exists()


@pytest.mark.sidedoor(rule="25", path="api: POST /api/loans/{id}/transitions/sign_contract/")
def test_a_contract_number_typed_in_full_width_is_the_same_contract_number(api, staff, customer):
    first = drive(staff, LoanFactory(customer=customer, product=_product(), marketing_officer=staff.mkt), Status.APPROVED)
    second = drive(staff, LoanFactory(customer=customer, product=_product(), marketing_officer=staff.mkt), Status.APPROVED)
    signed = api(staff.mkt).post(f"/api/loans/{first.pk}/transitions/sign_contract/",
                                 {**transition_data(staff, first, "sign_contract"), "contract_no": "HT-2026-0001"},
                                 format="json")
    assert signed.status_code == 200, signed.json()
    before = snapshot(second)
    twin = api(staff.mkt).post(f"/api/loans/{second.pk}/transitions/sign_contract/",
                               {**transition_data(staff, second, "sign_contract"), "contract_no": "ｈｔ－２０２６－０００１"},
                               format="json")
    assert twin.status_code == 400, twin.json()
    assert twin.json()["code"] == "duplicate_contract_no"
    assert snapshot(second) == before
    assert list(Contract.objects.values_list("loan_id", "contract_no")) == [(first.pk, "HT-2026-0001")]
    assert RefusedAttempt.objects.filter(action="sign_contract", loan_id_ref=second.pk,
                                         code="duplicate_contract_no").exists()


def test_a_new_contract_number_is_stored_in_its_normal_form(api, staff, customer):
    loan = drive(staff, LoanFactory(customer=customer, product=_product(), marketing_officer=staff.mkt), Status.APPROVED)
    response = api(staff.mkt).post(f"/api/loans/{loan.pk}/transitions/sign_contract/",
                                   {**transition_data(staff, loan, "sign_contract"), "contract_no": " ｈｔ２０２６００９ "},
                                   format="json")
    assert response.status_code == 200, response.json()
    assert list(Contract.objects.values_list("contract_no", flat=True)) == ["HT2026009"]


def _product():
    from tests.factories import ProductFactory

    return ProductFactory(code="consumer")
