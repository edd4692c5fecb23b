"""Issue 15, part 6: the application form shows the product's documents and purposes, never offers a prohibited
purpose, searches customers, registers a guarantor inline, asks the credit authorisation once, and its calculator
computes installment, DTI and LTV with the rule code the checks use."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from applications import rules
from applications.models import Customer, Loan, LoanDocument
from loancenter.lib.dates import today
from loancenter.lib.money import first_installment
from tests.factories import CustomerFactory, LoanFactory, ProductFactory, SecuredProductFactory, id_number_for
from tests.support.forms import rendered_form

pytestmark = pytest.mark.django_db

NEW = "/loans/new/"
CALC = "/loans/calculator/"
SEARCH = "/customers/search/"


def product_facts(html: str) -> dict:
    start = html.index('<script id="product-facts" type="application/json">') + len(
        '<script id="product-facts" type="application/json">')
    return json.loads(html[start:html.index("</script>", start)])


def purpose_options(form_html: str) -> list[str]:
    start = form_html.index('name="purpose"')
    block = form_html[start:form_html.index("</select>", start)]
    return [part.split('"')[0] for part in block.split('<option value="')[1:]]


# Documents and purposes as soon as the product is chosen


def test_the_form_carries_each_products_documents_and_allowed_purposes(login, staff, product):
    ProductFactory(code="biz", category="business", required_documents=["id_card", "business_license"],
                   allowed_purposes=["business_operation", "equipment"])
    html = login(staff.mkt).get(NEW).content.decode()
    facts = product_facts(html)
    biz = next(f for f in facts.values() if f["code"] == "biz")
    assert [d["code"] for d in biz["documents"]] == ["id_card", "business_license"]
    assert [p["code"] for p in biz["purposes"]] == ["business_operation", "equipment"]
    consumer = next(f for f in facts.values() if f["code"] == "consumer")
    assert [d["label"] for d in consumer["documents"]] == ["ID card", "Proof of income"]
    # The product rule decides: prohibited purposes are never a choice, for any product.
    for info in facts.values():
        codes = [p["code"] for p in info["purposes"]]
        assert not {"gambling", "futures", "securities", "derivatives"} & set(codes)
    assert "property_down_payment" not in [p["code"] for p in consumer["purposes"]]


def test_prohibited_purposes_are_never_offered_but_the_server_still_refuses_them(login, staff, product, customer):
    client = login(staff.mkt)
    page = client.get(NEW)
    offered = purpose_options(page.content.decode())
    assert "home_renovation" in offered
    assert not {"gambling", "futures", "securities", "derivatives", "property_down_payment"} & set(offered)

    form = rendered_form(page.content, testid="application-form")
    data = {**form.data, "customer": [str(customer.pk)], "product": [str(product.pk)], "amount": ["80000.00"],
            "term_months": ["24"], "purpose": ["gambling"]}
    response = client.post(NEW, data)
    assert response.status_code == 400
    assert "Loan funds may not be used for: Gambling (rule 4)." in response.content.decode()
    assert not Loan.objects.exists()


def test_after_an_error_the_chosen_products_requirements_and_purposes_are_drawn(login, staff, customer):
    product = ProductFactory(code="edu", allowed_purposes=["education"], required_documents=["id_card"])
    client = login(staff.mkt)
    form = rendered_form(client.get(NEW).content, testid="application-form")
    data = {**form.data, "customer": [str(customer.pk)], "product": [str(product.pk)], "amount": [""],
            "term_months": ["24"]}
    response = client.post(NEW, data)
    html = response.content.decode()
    assert response.status_code == 400
    assert purpose_options(html) == ["", "education"]
    block = html[html.index('data-testid="product-requirements"'):]
    assert "hidden" not in block[:block.index(">")]
    assert '<li data-code="id_card">ID card</li>' in block and '<li data-code="education">Education</li>' in block


# The credit authorisation is asked once


def test_the_credit_authorisation_is_asked_once(login, staff, product, customer):
    client = login(staff.mkt)
    page = client.get(NEW)
    form = rendered_form(page.content, testid="application-form")
    html = page.content.decode()
    assert 'name="credit_authorised"' in html
    assert 'value="credit_authorization"' not in html
    data = {**form.data, "customer": [str(customer.pk)], "product": [str(product.pk)], "amount": ["80000.00"],
            "term_months": ["24"], "purpose": ["home_renovation"], "credit_authorised": ["on"],
            "documents": ["id_card"]}
    response = client.post(NEW, data)
    assert response.status_code == 302, response.content.decode()
    loan = Loan.objects.get()
    assert loan.credit_authorised is True
    assert list(loan.documents.values_list("code", flat=True)) == ["id_card"]


def test_a_draft_with_the_authorisation_paper_keeps_it_when_posted_back_unchanged(login, staff, product, customer):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, credit_authorised=True,
                       documents=[])
    LoanDocument.objects.create(loan=loan, code="credit_authorization")
    client = login(staff.mkt)
    url = reverse("loan-edit", args=[loan.pk])
    form = rendered_form(client.get(url).content, testid="application-form")
    response = client.post(url, form.data)
    assert response.status_code == 302, response.content.decode()
    assert list(loan.documents.values_list("code", flat=True)) == ["credit_authorization"]
    loan.refresh_from_db()
    assert loan.version == 1  # nothing changed


# Customer search


def test_search_finds_customers_by_name_id_suffix_and_phone_suffix(login, staff):
    wang = CustomerFactory(officer=staff.mkt, name="王小明", id_number=id_number_for(date(1985, 5, 5)),
                           phone="13800001234")
    CustomerFactory(officer=staff.mkt, name="李四", phone="13900005678")
    client = login(staff.mkt)
    by_name = client.get(SEARCH, {"q": "小明"}).json()["results"]
    assert [r["id"] for r in by_name] == [wang.pk]
    by_id = client.get(SEARCH, {"q": wang.id_number[-6:]}).json()["results"]
    assert [r["id"] for r in by_id] == [wang.pk]
    by_phone = client.get(SEARCH, {"q": "1234"}).json()["results"]
    assert [r["id"] for r in by_phone] == [wang.pk]
    # Only the suffixes are answered: the picker needs no full number.
    assert by_name[0]["id_suffix"] == wang.id_number[-4:] and wang.id_number not in json.dumps(by_name)


def test_search_keeps_to_the_readers_scope_and_post(login, staff):
    theirs = CustomerFactory(officer=staff.mkt2, name="赵外人")
    client = login(staff.mkt)
    assert client.get(SEARCH, {"q": "赵外人"}).json()["results"] == []
    assert client.get(SEARCH, {"q": theirs.id_number[-4:]}).json()["results"] == []
    short = client.get(SEARCH, {"q": "赵"})
    assert short.status_code == 400 and short.json()["code"] == "query_too_short"
    refused = login(staff.rev).get(SEARCH, {"q": "赵外人"})
    assert refused.status_code == 403 and refused.json()["code"] == "post_required"


# Inline registration of a guarantor


def test_a_guarantor_is_registered_from_the_application_form(login, staff, product, customer):
    client = login(staff.mkt)
    page = client.get(NEW)
    form = rendered_form(page.content, has_field="id_number")
    assert form.attrs.get("data-inline-url") == reverse("customer-create-inline")
    data = {**form.data, "name": ["钱担保"], "id_number": [id_number_for(date(1980, 2, 2))],
            "phone": ["13700007777"], "monthly_income": ["12000.00"]}
    response = client.post(form.attrs["data-inline-url"], data)
    assert response.status_code == 201, response.content.decode()
    guarantor = Customer.objects.get(name="钱担保")
    assert response.json()["id"] == guarantor.pk and guarantor.officer == staff.mkt

    # The application then names them as guarantor like any other customer.
    app = rendered_form(client.get(NEW).content, testid="application-form")
    data = {**app.data, "customer": [str(customer.pk)], "product": [str(product.pk)], "amount": ["80000.00"],
            "term_months": ["24"], "purpose": ["home_renovation"], "guarantors-0-customer": [str(guarantor.pk)],
            "guarantors-0-relationship": ["friend"]}
    assert client.post(NEW, data).status_code == 302
    assert list(Loan.objects.get().guarantors.values_list("customer__name", flat=True)) == ["钱担保"]


def test_inline_registration_refuses_bad_input_and_other_posts(login, staff):
    client = login(staff.mkt)
    form = rendered_form(client.get(NEW).content, has_field="id_number")
    bad = client.post(reverse("customer-create-inline"), {**form.data, "name": ["钱担保"], "id_number": ["123"],
                                                          "phone": ["13700007777"], "monthly_income": ["1"]})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid" and "id_number" in bad.json()["fields"]
    assert not Customer.objects.filter(name="钱担保").exists()
    other = login(staff.rev).post(reverse("customer-create-inline"), {**form.data, "name": ["钱担保"]})
    assert other.status_code == 403 and other.json()["code"] == "post_required"
    assert login(staff.mkt).get(reverse("customer-create-inline")).status_code == 405


# The calculator


def calc(client, **params):
    return client.get(CALC, params)


def test_the_calculator_gives_installment_and_dti_from_the_rule_code(login, staff, product):
    customer = CustomerFactory(officer=staff.mkt, monthly_income=Decimal("10000.00"),
                               monthly_debt_payment=Decimal("1000.00"))
    body = calc(login(staff.mkt), product=product.pk, customer=customer.pk, amount="100000.00", term_months="36",
                repayment_method="equal_installment").json()
    installment = first_installment(Decimal("100000.00"), product.max_rate, 36, "equal_installment")
    assert body["installment"] == f"{installment:.2f}" and body["installment_display"] == f"{installment:,.2f}"
    dti = rules.dti_ratio(customer, installment=installment)
    assert body["dti"] == f"{dti:.4f}" and body["max_dti"] == "0.5000" and body["dti_ok"] is True
    assert body["warnings"] == []


def test_the_calculator_warns_with_the_checks_own_messages(login, staff, product):
    customer = CustomerFactory(officer=staff.mkt, monthly_income=Decimal("5000.00"),
                               monthly_debt_payment=Decimal("1000.00"))
    body = calc(login(staff.mkt), product=product.pk, customer=customer.pk, amount="200000.00", term_months="12",
                repayment_method="equal_installment").json()
    assert body["dti_ok"] is False
    codes = {w["code"]: w["message"] for w in body["warnings"]}
    assert "dti_exceeded" in codes and "(rule 8)" in codes["dti_exceeded"]
    with pytest.raises(rules.RuleViolation) as refused:
        rules.check_dti(customer, product, installment=Decimal(body["installment"]))
    assert refused.value.message == codes["dti_exceeded"]
    out_of_range = calc(login(staff.mkt), product=product.pk, amount="900000.00", term_months="72",
                        repayment_method="equal_installment").json()
    assert {"amount_out_of_range", "term_out_of_range"} <= {w["code"] for w in out_of_range["warnings"]}


def test_the_calculator_gives_ltv_for_secured_products(login, staff):
    product = SecuredProductFactory(code="house", max_ltv=Decimal("0.7000"))
    client = login(staff.mkt)
    body = calc(client, product=product.pk, amount="800000.00", term_months="240",
                repayment_method="equal_installment", appraised_value=["1000000.00"]).json()
    assert body["ltv"] == "0.8000" and body["max_ltv"] == "0.7000" and body["ltv_ok"] is False
    assert "ltv_exceeded" in {w["code"] for w in body["warnings"]}
    two = calc(client, product=product.pk, amount="800000.00", term_months="240", repayment_method="equal_installment",
               appraised_value=["1000000.00", "600000.00"]).json()
    assert two["ltv"] == "0.5000" and two["ltv_ok"] is True


@pytest.mark.parametrize("params", [
    {"amount": "abc"}, {"amount": "-5"}, {"amount": "1e20"}, {"term_months": "0"}, {"repayment_method": "weekly"},
    {"product": "999999"}, {"appraised_value": "x"},
])
def test_the_calculator_answers_400_with_a_code_on_bad_input(login, staff, product, params):
    base = {"product": product.pk, "amount": "1000.00", "term_months": "12", "repayment_method": "bullet"}
    response = calc(login(staff.mkt), **{**base, **params})
    assert response.status_code == 400 and response.json()["code"] == "bad_input"


def test_the_calculator_keeps_to_the_scope_and_post(login, staff, product):
    theirs = CustomerFactory(officer=staff.mkt2)
    base = {"product": product.pk, "amount": "1000.00", "term_months": "12", "repayment_method": "bullet"}
    outside = calc(login(staff.mkt), customer=theirs.pk, **base)
    assert outside.status_code == 404 and outside.json()["code"] == "not_found"
    refused = calc(login(staff.rev), **base)
    assert refused.status_code == 403 and refused.json()["code"] == "post_required"


def test_a_draft_opened_for_editing_shows_the_calculator_figures(login, staff, product, customer):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, amount=Decimal("50000.00"),
                       term_months=24, repayment_method="equal_installment",
                       interviewed_on=today() - timedelta(days=1))
    html = login(staff.mkt).get(reverse("loan-edit", args=[loan.pk])).content.decode()
    installment = first_installment(Decimal("50000.00"), product.max_rate, 24, "equal_installment")
    block = html[html.index('data-testid="calculator"'):]
    assert f'data-calc="installment">{installment:,.2f}<' in block


def test_inline_registration_needs_the_forms_csrf_token(staff):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff.mkt)
    data = {"name": "孙担保", "id_number": id_number_for(date(1979, 4, 4)), "phone": "13600006666",
            "monthly_income": "9000.00", "monthly_debt_payment": "0.00", "civil_capacity": "full"}
    forged = browser.post(reverse("customer-create-inline"), data)
    assert forged.status_code == 403 and not Customer.objects.filter(name="孙担保").exists()
    form = rendered_form(browser.get(NEW).content, has_field="id_number")
    response = browser.post(reverse("customer-create-inline"),
                            {**data, "csrfmiddlewaretoken": form["csrfmiddlewaretoken"]})
    assert response.status_code == 201 and Customer.objects.filter(name="孙担保").exists()
