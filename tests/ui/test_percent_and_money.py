"""Rates typed and read as percentages, amounts with separators: one rule for pages, PDFs and exports; the API keeps
decimal fractions (issue 15 part 5, SPEC §16.5). Forms are tested as a person uses them: load, post back."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from applications.models import Product, Status
from loancenter.lib import export
from loancenter.lib.money import fmt_rate
from loancenter.models import AuditEntry
from loancenter.templatetags.money import money, pct
from tests.factories import LoanFactory
from tests.support.forms import rendered_form

D = Decimal


@pytest.mark.parametrize(("fraction", "text"), [
    (D("0.0435"), "4.35%"), (D("0.039"), "3.90%"), (D("0.039000"), "3.90%"), (D("0.04125"), "4.125%"),
    (D("0.5"), "50.00%"), (D("1"), "100.00%"), (D("0"), "0.00%"), (None, ""),
])
def test_one_rule_prints_every_rate(fraction, text):
    assert fmt_rate(fraction) == text
    assert pct(fraction) == text  # the template filter is the same rule


def test_amounts_carry_thousands_separators():
    assert money(D("1234567.8")) == "1,234,567.80"
    assert money(D("-2500")) == "-2,500.00"


@pytest.fixture
def rates(product):
    Product.objects.filter(pk=product.pk).update(min_rate=D("0.0435"), max_rate=D("0.0800"), max_dti=D("0.5500"))
    product.refresh_from_db()
    return product


def test_product_form_shows_percentages_and_posting_it_back_changes_nothing(client, staff, rates):
    client.force_login(staff.gen)
    url = reverse("product-edit", args=[rates.pk])
    form = rendered_form(client.get(url).content, testid="product-form")
    assert (form["min_rate"], form["max_rate"], form["max_dti"], form["investigation_rate"]) == ("4.35", "8", "55", "100")
    before = Product.objects.filter(pk=rates.pk).values().get()
    response = client.post(url, form.data)
    assert response.status_code == 302
    assert Product.objects.filter(pk=rates.pk).values().get() == before
    assert not AuditEntry.objects.filter(action="product_update").exists()  # nothing changed, nothing to audit


def test_typing_4_35_stores_0_0435(client, staff, rates):
    client.force_login(staff.gen)
    url = reverse("product-edit", args=[rates.pk])
    form = rendered_form(client.get(url).content, testid="product-form")
    data = {**form.data, "min_rate": ["3.9"], "max_rate": ["12.125"]}
    assert client.post(url, data).status_code == 302
    rates.refresh_from_db()
    assert (rates.min_rate, rates.max_rate) == (D("0.039"), D("0.12125"))
    page = client.get(reverse("product-list")).content.decode()
    assert "3.90% – 12.125%" in page and "55.00%" in page


def test_a_percentage_over_100_is_refused_in_percent_and_changes_nothing(client, staff, rates):
    client.force_login(staff.gen)
    url = reverse("product-edit", args=[rates.pk])
    form = rendered_form(client.get(url).content, testid="product-form")
    before = Product.objects.filter(pk=rates.pk).values().get()
    response = client.post(url, {**form.data, "max_rate": ["435"]})
    assert response.status_code == 400
    assert "Enter a percentage of at most 100%." in response.content.decode()
    assert "less than or equal to 1" not in response.content.decode()
    assert Product.objects.filter(pk=rates.pk).values().get() == before


def test_the_api_keeps_decimal_fractions(staff, rates):
    api = APIClient()
    api.force_authenticate(staff.gen)
    body = api.get(f"/api/products/{rates.pk}/").json()
    assert (body["min_rate"], body["max_rate"], body["max_dti"]) == ("0.0435", "0.08", "0.55")


def test_the_approval_form_shows_and_takes_the_rate_in_percent(client, staff, flow, rates, customer):
    loan = LoanFactory(customer=customer, product=rates, marketing_officer=staff.mkt, amount=D("50000.00"))
    flow.advance(loan, Status.UNDER_REVIEW)
    client.force_login(staff.rev)
    url = reverse("loan-transition", args=[loan.pk, "pass_review"])
    form = rendered_form(client.get(url).content, testid="transition-form")
    assert form["annual_rate"] == "4.35"  # the product's floor, 0.0435, as a percentage
    assert client.post(url, {**form.data, "annual_rate": ["5.15"], "opinion": ["同意"]}).status_code == 302
    loan.refresh_from_db()
    assert loan.proposed_rate == D("0.0515")
    client.force_login(staff.appr)
    url = reverse("loan-transition", args=[loan.pk, "approve"])
    form = rendered_form(client.get(url).content, testid="transition-form")
    assert form["annual_rate"] == "5.15"
    assert client.post(url, {**form.data, "reason": ["同意"]}).status_code == 302  # posted back as shown
    loan.refresh_from_db()
    assert (loan.status, loan.annual_rate) == (Status.APPROVED, D("0.0515"))
    page = client.get(reverse("loan-detail", args=[loan.pk])).content.decode()
    assert "5.15%" in page and "50,000.00" in page


def test_a_rate_typed_as_a_fraction_gets_a_message_in_percent(client, staff, flow, rates, customer):
    loan = LoanFactory(customer=customer, product=rates, marketing_officer=staff.mkt)
    flow.advance(loan, Status.UNDER_REVIEW)
    client.force_login(staff.rev)
    url = reverse("loan-transition", args=[loan.pk, "pass_review"])
    form = rendered_form(client.get(url).content, testid="transition-form")
    response = client.post(url, {**form.data, "annual_rate": ["0.0435"], "opinion": ["同意"]})
    assert response.status_code == 400
    html = response.content.decode()
    assert "outside the product&#x27;s range 4.35%–8.00%" in html  # 0.0435 % is below the floor, said in percent
    loan.refresh_from_db()
    assert loan.status == Status.UNDER_REVIEW and loan.proposed_rate is None
    response = client.post(url, {**form.data, "annual_rate": ["250"], "opinion": ["同意"]})
    assert response.status_code == 400 and "Enter a percentage between 0% and 100%, e.g. 4.35." in response.content.decode()


def test_excel_shows_amounts_with_separators_and_ratios_as_percentages_keeping_numbers():
    from openpyxl import load_workbook

    data = export.xlsx_bytes("S", [["amount", "share"], [D("1234567.80"), export.Percent(D("0.0435"))]])
    sheet = load_workbook(io.BytesIO(data)).active
    amount, share = sheet["A2"], sheet["B2"]
    assert amount.value == 1234567.8 and amount.number_format == "#,##0.00"
    assert share.value == 0.0435 and share.number_format == "0.00%"
    assert export.csv_cell(export.Percent(D("0.0435"))) == "4.35%"
    assert export.csv_cell(D("1234567.80")) == "1234567.80"  # CSV is read by programs too: the plain numeral
