"""Side doors to the facts the decisions read (SPEC §10 rules 25–29, 31 and the separation-of-duty additions): who
escalated or prepared the receipt, the exposure and the amount decided, the certificate a collateral names, the
second investigator's account and post, the contract number, the product's terms — each changed through another path
or surface than the step that checks it. Every cell asserts the fact unchanged (or the rule asked again) and the refusal
recorded with its loan.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from applications.models import Collateral, Status
from disbursement.models import Contract
from loancenter.models import User
from loancenter.services import staff_create
from tests.api.conftest import drive, transition_data
from tests.api.test_certificates import house_payload
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, LoanFactory, ProductFactory, SecuredProductFactory, add_collateral
from tests.sidedoors.support import admin_form, admin_url, loan_facts, open_form, open_step, post_step, refused


def person(username: str, posts: list[str], limit: str | None = None) -> User:
    return staff_create(username=username, posts=posts, password=PASSWORD, full_name=username,
                        approval_limit=Decimal(limit) if limit else None)


# ---------------------------------------------------------------------------------------------------------------
# Separation of duty, the additions of SPEC §10, on the step pages


@pytest.mark.sidedoor(rule="sod", path="browser: /loans/{id}/do/approve/ or reject/ at branch level by the escalator")
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_the_escalator_cannot_decide_at_branch_level_on_the_page(client, api, staff, draft, decision):
    both = person("both", ["approver", "branch_approver"], "1000000.00")
    loan = drive(staff, draft, Status.PENDING_APPROVAL)
    client.force_login(both)
    assert post_step(client, open_step(client, loan, "escalate"), reason="关联交易,报分行").status_code == 302
    before = loan_facts(loan)

    response = client.post(f"/loans/{loan.pk}/do/{decision}/", {"reason": "同意", **(
        {k: str(v) for k, v in transition_data(staff, loan, "approve").items()} if decision == "approve" else {})})

    assert response.status_code == 403
    assert loan_facts(loan) == before
    refused(code="separation_of_duty", action=decision, loan=loan, actor=both)


@pytest.mark.sidedoor(rule="sod", path="browser: /loans/{id}/do/disburse/ by the reviewer who prepared the receipt")
def test_the_receipt_preparer_cannot_disburse_on_the_page(client, staff, draft):
    both = person("revdisb", ["reviewer", "disbursement"])
    loan = drive(staff, draft, Status.READY_TO_DISBURSE, acting={"prepare_receipt": both})
    client.force_login(both)
    before = loan_facts(loan)

    response = client.post(f"/loans/{loan.pk}/do/disburse/", {
        k: str(v) for k, v in transition_data(staff, loan, "disburse").items()})

    assert response.status_code == 403
    assert loan_facts(loan) == before
    refused(code="separation_of_duty", action="disburse", loan=loan, actor=both)


# ---------------------------------------------------------------------------------------------------------------
# Rules 11 and 27: the authority is measured on the exposure decided


@pytest.fixture
def small_approver(db):
    return person("appr50k", ["approver"], "50000.00")


@pytest.mark.sidedoor(rule="27", path="browser: /loans/{id}/do/approve/ for a second loan to the same customer")
def test_the_approve_page_measures_the_customers_exposure(client, api, staff, product, customer, small_approver):
    first = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, amount=Decimal("40000.00"))
    drive(staff, first, Status.APPROVED, acting={"approve": small_approver})
    second = drive(staff, LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt,
                                      amount=Decimal("40000.00")), Status.PENDING_APPROVAL)
    client.force_login(small_approver)
    opened = open_step(client, second, "approve")
    before = loan_facts(second)

    response = post_step(client, opened, reason="同意")

    assert response.status_code == 403
    assert "80,000.00" in response.content.decode()
    assert loan_facts(second) == before
    refused(code="authority_limit", action="approve", loan=second, actor=small_approver)


@pytest.mark.sidedoor(rule="27", path="api: approve an amount above the loan's (the amount decided counts)")
def test_the_authority_counts_the_amount_decided_not_the_amount_applied_for(api, staff, product, customer,
                                                                              small_approver):
    loan = drive(staff, LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt,
                                    amount=Decimal("40000.00")), Status.PENDING_APPROVAL)
    before = loan_facts(loan)

    response = api(small_approver).post(f"/api/loans/{loan.pk}/transitions/approve/", {
        **transition_data(staff, loan, "approve"), "amount": "60000.00"}, format="json")

    assert (response.status_code, response.json()["code"]) == (403, "authority_limit"), response.json()
    assert loan_facts(loan) == before
    refused(code="authority_limit", action="approve", loan=loan, actor=small_approver)


@pytest.mark.sidedoor(rule="27", path="admin: staff change form lowers the approver's limit, then the open approve page")
def test_a_limit_lowered_while_the_approve_page_is_open_holds(client, staff, product, customer):
    loan = drive(staff, LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt,
                                    amount=Decimal("100000.00")), Status.PENDING_APPROVAL)
    client.force_login(staff.appr)
    opened = open_step(client, loan, "approve")
    client.force_login(staff.boss)
    assert admin_form(client, admin_url("loancenter_user_change", staff.appr.pk), "user_form",
                      approval_limit="50000.00", reason="降低授权").status_code == 302
    assert User.objects.get(pk=staff.appr.pk).approval_limit == Decimal("50000.00")
    client.force_login(staff.appr)
    before = loan_facts(loan)

    response = post_step(client, opened, reason="同意")

    assert response.status_code == 403
    assert loan_facts(loan) == before
    refused(code="authority_limit", action="approve", loan=loan, actor=staff.appr)


# ---------------------------------------------------------------------------------------------------------------
# Rule 28: one certificate backs one live loan


@pytest.mark.sidedoor(rule="28", path="browser: /loans/{id}/edit/ collateral corrected to another live loan's certificate "
                                      "(full-width)")
def test_the_edit_page_refuses_another_live_loans_certificate(client, staff, customer):
    house = SecuredProductFactory(code="house")
    taken = LoanFactory(customer=customer, product=house, marketing_officer=staff.mkt)
    add_collateral(taken, certificate_no="京(2025)东城区不动产权第0042号")
    drive(staff, taken, Status.PENDING_APPROVAL)
    draft = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=house, marketing_officer=staff.mkt)
    add_collateral(draft, certificate_no="京(2025)东城区不动产权第0077号")
    client.force_login(staff.mkt)
    _page, form = open_form(client, f"/loans/{draft.pk}/edit/", has_field="documents")
    field = next(name for name in sorted(form.names()) if name.endswith("certificate_no"))  # the first row
    before = loan_facts(draft)

    response = client.post(f"/loans/{draft.pk}/edit/", {**form.data, field: ["京（２０２５）东城区不动产权第００４２号"]})

    assert response.status_code == 400
    assert "rule 28" in response.content.decode()
    assert loan_facts(draft) == before
    assert Collateral.objects.filter(loan=draft).get().certificate_no == "京(2025)东城区不动产权第0077号"
    refused(code="certificate_in_use", action="update", loan=draft, actor=staff.mkt)


@pytest.mark.sidedoor(rule="28", path="api: POST /api/loans/ with the certificate of a written-off loan")
def test_a_written_off_loan_still_holds_its_certificate(api, staff, customer):
    house = SecuredProductFactory(code="house")
    old = LoanFactory(customer=customer, product=house, marketing_officer=staff.mkt)
    add_collateral(old, certificate_no="京(2025)东城区不动产权第0099号")
    old.__class__.objects.filter(pk=old.pk).update(status=Status.WRITTEN_OFF)  # collection goes on after a write-off
    other = CustomerFactory(officer=staff.mkt)
    count = house.loans.count()

    response = api(staff.mkt).post("/api/loans/", house_payload(other, house, "京（２０２５）东城区不动产权第００９９号"),
                                   format="json")

    assert (response.status_code, response.json()["code"]) == (400, "certificate_in_use"), response.json()
    assert house.loans.count() == count
    refused(code="certificate_in_use", actor=staff.mkt)


# ---------------------------------------------------------------------------------------------------------------
# Rule 26: the second investigator's account and post


@pytest.fixture
def dual(staff, customer):
    product = ProductFactory(code="dual", dual_investigation=True)
    return LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)


@pytest.mark.sidedoor(rule="26", path="admin: staff change form deactivates the named second investigator")
def test_deactivating_the_second_investigator_waits_for_a_hand_over(client, api, staff, dual):
    loan = drive(staff, dual, Status.INVESTIGATING)
    response = api(staff.inv).post(f"/api/loans/{loan.pk}/transitions/complete_investigation/",
                                   transition_data(staff, loan, "complete_investigation", staff.inv), format="json")
    assert response.status_code == 200 and loan.current_investigation.cosigner_id == staff.inv2.pk
    client.force_login(staff.boss)

    response = admin_form(client, admin_url("loancenter_user_change", staff.inv2.pk), "user_form",
                          is_active=None, reason="离职")

    assert response.status_code == 200  # the admin form again, with the open work named (SPEC §16.27)
    assert User.objects.get(pk=staff.inv2.pk).is_active
    loan.refresh_from_db()
    assert (loan.status, loan.current_investigation.cosigner_id) == (Status.INVESTIGATING, staff.inv2.pk)
    refused(code="open_work", action="staff_change", actor=staff.boss)


@pytest.mark.sidedoor(rule="26", path="browser: /loans/{id}/do/complete_investigation/ naming a deactivated second")
def test_the_report_page_refuses_a_second_investigator_who_cannot_log_in(client, staff, dual):
    loan = drive(staff, dual, Status.INVESTIGATING)
    client.force_login(staff.inv)
    opened = open_step(client, loan, "complete_investigation")
    User.objects.filter(pk=staff.inv2.pk).update(is_active=False)  # deactivated while the page was open
    before = loan_facts(loan)

    response = post_step(client, opened, investigators=[staff.inv.username, staff.inv2.username],
                         income_verified="on", identity_verified="on", purpose_verified="on", opinion="recommend")

    assert response.status_code == 400
    assert loan_facts(loan) == before
    refused(code="cosigner_unavailable", action="complete_investigation", loan=loan, actor=staff.inv)


# ---------------------------------------------------------------------------------------------------------------
# Rule 25: the contract number in its normal form


@pytest.mark.sidedoor(rule="25", path="browser: /loans/{id}/do/sign_contract/ with a full-width twin contract number")
def test_the_contract_page_refuses_a_full_width_twin(client, api, staff, product, customer):
    first = drive(staff, LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt), Status.APPROVED)
    second = drive(staff, LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt,
                                      amount=Decimal("20000.00")), Status.APPROVED)
    assert api(staff.mkt).post(f"/api/loans/{first.pk}/transitions/sign_contract/", {
        **transition_data(staff, first, "sign_contract"), "contract_no": "HT-2026-0001"}, format="json").status_code == 200
    client.force_login(staff.mkt)
    before = loan_facts(second)

    response = post_step(client, open_step(client, second, "sign_contract"), contract_no="ｈｔ－２０２６－０００１")

    assert response.status_code == 400
    assert loan_facts(second) == before
    assert list(Contract.objects.values_list("loan_id", flat=True)) == [first.pk]
    refused(code="duplicate_contract_no", action="sign_contract", loan=second, actor=staff.mkt)


@pytest.mark.sidedoor(rule="25", path="admin: staff change form (ID number typed in full width)")
def test_the_admin_stores_a_colleagues_full_width_id_number_in_ascii(client, staff):
    client.force_login(staff.boss)
    number = CustomerFactory.build().id_number
    typed = number[:17].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + number[17]

    response = admin_form(client, admin_url("loancenter_user_change", staff.rev.pk), "user_form", id_number=typed)

    assert response.status_code == 302
    assert User.objects.get(pk=staff.rev.pk).id_number == number


# ---------------------------------------------------------------------------------------------------------------
# Rule 31: the reasons, at branch level too


@pytest.mark.sidedoor(rule="31", path="api: POST /api/loans/{id}/transitions/approve/ at branch level without a reason")
def test_the_branch_decision_needs_a_reason_too(api, staff, draft):
    loan = drive(staff, draft, Status.PENDING_APPROVAL)
    assert api(staff.appr).post(f"/api/loans/{loan.pk}/transitions/escalate/", {"reason": "超权限"},
                                format="json").status_code == 200
    before = loan_facts(loan)

    response = api(staff.branch).post(f"/api/loans/{loan.pk}/transitions/approve/", {
        **transition_data(staff, loan, "approve"), "reason": "  "}, format="json")

    assert response.status_code == 400, response.json()
    assert loan_facts(loan) == before
    assert response.json()["code"] == "reason_required"
    refused(code="reason_required", action="approve", loan=loan, actor=staff.branch)


@pytest.mark.sidedoor(rule="31", path="browser: /loans/{id}/do/approve/ at branch level without a reason")
def test_the_branch_approve_page_asks_for_the_reason(client, api, staff, draft):
    loan = drive(staff, draft, Status.PENDING_APPROVAL)
    assert api(staff.appr).post(f"/api/loans/{loan.pk}/transitions/escalate/", {"reason": "超权限"},
                                format="json").status_code == 200
    client.force_login(staff.branch)
    before = loan_facts(loan)

    response = post_step(client, open_step(client, loan, "approve"), reason="")

    assert response.status_code == 400
    assert loan_facts(loan) == before
    refused(code="reason_required", action="approve", loan=loan, actor=staff.branch)


# ---------------------------------------------------------------------------------------------------------------
# Rule 29: the terms kept at approval


@pytest.mark.sidedoor(rule="29", path="admin: product change form (rate range and penalty), then the approved loan's "
                                      "contract and receipt")
def test_a_product_edit_after_approval_does_not_reach_the_contract_or_the_receipt(client, api, staff, draft):
    loan = drive(staff, draft, Status.APPROVED)
    terms = api(staff.gen).get(f"/api/loans/{loan.pk}/").json()["terms"]
    client.force_login(staff.gen)
    response = admin_form(client, admin_url("applications_product_change", loan.product_id), "product_form",
                          min_rate="6", penalty_markup="100")  # percentages (issue 15 part 5)
    assert response.status_code == 302, response.content.decode()[:3000]

    loan = drive(staff, loan, Status.ACTIVE)

    body = api(staff.gen).get(f"/api/loans/{loan.pk}/").json()
    assert body["terms"] == terms
    assert loan.receipt.annual_rate == Decimal(terms["annual_rate"]) < Decimal("0.06")  # below the product's new floor
    assert Decimal(terms["penalty_markup"]) == Decimal("0.5")


# ---------------------------------------------------------------------------------------------------------------
# What a product is (secured, two-person, category) does not change under a loan that is under way


@pytest.mark.sidedoor(rule="26", path="api: PATCH /api/products/{id}/ dual_investigation off, then one login completes")
def test_a_two_person_product_is_not_made_single_under_an_investigation(api, staff, dual):
    loan = drive(staff, dual, Status.INVESTIGATING)
    product_before = type(dual.product).objects.filter(pk=dual.product_id).values().get()

    response = api(staff.gen).patch(f"/api/products/{dual.product_id}/", {"dual_investigation": False}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "product_in_use"), response.json()
    assert type(dual.product).objects.filter(pk=dual.product_id).values().get() == product_before
    refused(code="product_in_use", action="product_save", actor=staff.gen)
    before = loan_facts(loan)
    alone = api(staff.inv).post(f"/api/loans/{loan.pk}/transitions/complete_investigation/", {
        **transition_data(staff, loan, "complete_investigation", staff.inv), "investigators": [staff.inv.username]},
        format="json")
    assert (alone.status_code, alone.json()["code"]) == (400, "dual_investigation"), alone.json()
    assert loan_facts(loan) == before


@pytest.mark.sidedoor(rule="14", path="admin: product change form makes a secured product unsecured, then prepare_receipt")
def test_a_secured_product_is_not_made_unsecured_under_an_approved_loan(client, api, staff, customer):
    house = SecuredProductFactory(code="house")
    loan = LoanFactory(customer=customer, product=house, marketing_officer=staff.mkt)
    add_collateral(loan)
    loan = drive(staff, loan, Status.CONTRACT_SIGNED)
    client.force_login(staff.gen)

    response = admin_form(client, admin_url("applications_product_change", house.pk), "product_form", secured=None)

    assert response.status_code == 302
    assert type(house).objects.get(pk=house.pk).secured
    refused(code="product_in_use", action="admin_product", actor=staff.gen)
    before = loan_facts(loan)
    receipt = api(staff.rev).post(f"/api/loans/{loan.pk}/transitions/prepare_receipt/",
                                  transition_data(staff, loan, "prepare_receipt"), format="json")
    assert receipt.status_code in (400, 409), receipt.json()
    assert loan_facts(loan) == before


@pytest.mark.sidedoor(rule="17", path="browser: product form changes the category under an active loan")
def test_the_category_that_sets_the_self_payment_limit_does_not_change_under_a_loan(client, staff, product, draft):
    drive(staff, draft, Status.ACTIVE)
    client.force_login(staff.gen)
    _page, form = open_form(client, f"/products/{product.pk}/edit/", has_field="category")
    before = type(product).objects.filter(pk=product.pk).values().get()

    response = client.post(f"/products/{product.pk}/edit/", {**form.data, "category": ["business"]})

    assert response.status_code == 400
    assert "Create a new product instead." in response.content.decode()
    assert type(product).objects.filter(pk=product.pk).values().get() == before
    refused(code="product_in_use", action="product_save", actor=staff.gen)


def test_what_a_product_is_still_changes_when_no_loan_of_it_is_under_way(api, staff, product, draft):
    response = api(staff.gen).patch(f"/api/products/{product.pk}/", {"dual_investigation": True}, format="json")

    assert response.status_code == 200, response.json()
    assert type(product).objects.get(pk=product.pk).dual_investigation
