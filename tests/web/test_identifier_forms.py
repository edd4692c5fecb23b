"""Findings 4 and 7 in the browser: the customer form normalises ID and phone numbers (rule 25), and the application
form refuses a certificate that backs another live loan (rule 28)."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from applications.models import Collateral, Customer, Loan
from tests.factories import CustomerFactory, LoanFactory, add_collateral, id_number_for
from tests.web.test_forms import application_post, customer_post

pytestmark = pytest.mark.django_db

ID = id_number_for(date(1988, 3, 9))
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def test_the_customer_form_stores_a_full_width_id_and_phone_in_ascii(login, staff):
    client = login(staff.mkt)
    page = client.get(reverse("customer-create"))
    assert page.status_code == 200
    assert 'maxlength="18"' not in page.content.decode()  # spaces typed in the number are allowed: removed on save
    response = client.post(reverse("customer-create"), customer_post(id_number=ID.translate(FULL_WIDTH),
                                                                     phone="１３９ １２３４ ５６７８"))
    assert response.status_code == 302
    assert Customer.objects.values_list("id_number", "phone").get() == (ID, "13912345678")


@pytest.mark.sidedoor(rule="25", path="browser: /customers/new/")
def test_the_customer_form_refuses_a_full_width_twin(login, staff):
    existing = CustomerFactory(officer=staff.mkt, id_number=ID)
    twin = ID[:17].translate(FULL_WIDTH) + ID[17]  # as in finding 4: full-width digits, ASCII check character
    response = login(staff.mkt2).post(reverse("customer-create"), customer_post(id_number=twin))
    assert response.status_code == 400
    assert response.context["form"].errors["id_number"]
    assert list(Customer.objects.values_list("pk", flat=True)) == [existing.pk]


@pytest.mark.sidedoor(rule="28", path="browser: /loans/new/")
def test_the_application_form_refuses_a_certificate_of_another_live_loan(login, staff, product, customer):
    first = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
    add_collateral(first, certificate_no="京A12345")
    data = application_post(customer, product, **{"collaterals-0-certificate_no": "京Ａ １２３４５"})
    response = login(staff.mkt).post(reverse("loan-create"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert first.application_no in html and "rule 28" in html
    assert list(Loan.objects.values_list("pk", flat=True)) == [first.pk]
    assert list(Collateral.objects.values_list("loan_id", flat=True)) == [first.pk]


def test_the_application_form_stores_the_certificate_in_its_normal_form(login, staff, product, customer):
    response = login(staff.mkt).post(reverse("loan-create"),
                                     application_post(customer, product, **{"collaterals-0-certificate_no": "京ａ１２３４５"}))
    assert response.status_code == 302
    assert list(Collateral.objects.values_list("certificate_no", flat=True)) == ["京A12345"]
