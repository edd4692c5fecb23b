"""Global search (issue 15 part 12): the header's box and ``/api/search/`` find a loan by its numbers or its
borrower, only within the reader's scope, whatever digits the reader types."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from applications.models import Status
from loancenter.lib.idcard import make_id_number
from tests.api.conftest import drive
from tests.factories import CustomerFactory, LoanFactory

pytestmark = pytest.mark.django_db

ID_NUMBER = make_id_number("110101", date(1988, 3, 9), 123)  # a valid number; its last four below


@pytest.fixture
def borrower(staff):
    return CustomerFactory(officer=staff.mkt, name="欧阳锋", id_number=ID_NUMBER, phone="13912345678")


@pytest.fixture
def loan(staff, product, borrower):
    return LoanFactory(customer=borrower, product=product, marketing_officer=staff.mkt)


def page_loans(client, q) -> list[str]:
    response = client.get(reverse("search"), {"q": q})
    assert response.status_code == 200
    return [str(loan) for loan in response.context["results"].loans]


def api_loans(client, q) -> list[str]:
    response = client.get(reverse("api-search"), {"q": q})
    assert response.status_code == 200, response.content
    return [row["application_no"] for row in response.json()["loans"]]


@pytest.mark.parametrize("q", ["欧阳锋", "欧阳", "5678", "345678", "13912345678", "GDTEST", None])
def test_the_officer_finds_their_loan_by_name_number_or_last_digits(login, api, staff, loan, q):
    q = loan.application_no if q in ("GDTEST", None) else q
    assert page_loans(login(staff.mkt), q) == [loan.application_no]
    assert api_loans(api(staff.mkt), q) == [loan.application_no]


def test_the_last_digits_of_the_id_number_find_the_borrower_with_a_lower_case_x(login, staff, product):
    number = next(n for n in (make_id_number("110101", date(1990, 1, 1), s) for s in range(1, 999))
                  if n.endswith("X"))
    customer = CustomerFactory(officer=staff.mkt, id_number=number)
    mine = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
    assert page_loans(login(staff.mkt), number[-5:].lower()) == [mine.application_no]


@pytest.mark.parametrize("typed", ["５６７８", "١٢٣٤٥٦٧٨", " 1234 5678 ", "１３９-１２３４-５６７８"])
def test_full_width_and_other_digits_are_the_same_query(login, api, staff, loan, typed):
    assert page_loans(login(staff.mkt), typed) == [loan.application_no]
    assert api_loans(api(staff.mkt), typed) == [loan.application_no]


def test_the_id_number_ending_is_found_in_full_width(login, staff, loan):
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in ID_NUMBER[-6:])
    assert page_loans(login(staff.mkt), fullwidth) == [loan.application_no]


def test_another_officer_never_finds_the_loan_through_the_page_or_the_api(login, api, staff, loan):
    for q in ("欧阳锋", ID_NUMBER[-6:], "5678", loan.application_no):
        assert page_loans(login(staff.mkt2), q) == []
        assert api_loans(api(staff.mkt2), q) == []
    response = login(staff.mkt2).get(reverse("search"), {"q": "欧阳锋"})
    assert response.context["results"].customers == []
    assert "欧阳锋" not in response.content.decode().split('data-testid="search-loans"')[1]
    assert api(staff.mkt2).get(reverse("api-search"), {"q": "欧阳锋"}).json()["customers"] == []


def test_an_investigator_finds_a_draft_only_once_it_reaches_their_step(login, api, staff, loan):
    assert page_loans(login(staff.inv), "欧阳锋") == []
    assert api_loans(api(staff.inv), "5678") == []
    drive(staff, loan, Status.SUBMITTED)
    assert page_loans(login(staff.inv), "欧阳锋") == [loan.application_no]
    assert api_loans(api(staff.inv), "5678") == [loan.application_no]
    assert page_loans(login(staff.rev), "欧阳锋") == []  # the reviewer's step is later


def test_the_contract_number_finds_the_loan_as_typed_in_full_width(login, api, staff, loan):
    drive(staff, loan, Status.CONTRACT_SIGNED)
    contract_no = loan.contracts.get(kind="loan").contract_no
    typed = "".join(chr(ord(c) + 0xFEE0) for c in contract_no.lower())
    assert page_loans(login(staff.disb), typed) == [loan.application_no]
    assert api_loans(api(staff.boss), contract_no) == [loan.application_no]
    assert api_loans(api(staff.mkt2), contract_no) == []


def test_the_customers_found_are_only_those_in_scope(login, api, staff, product, borrower, loan):
    other = CustomerFactory(officer=staff.mkt2, name="欧阳克", phone="13700005678")
    LoanFactory(customer=other, product=product, marketing_officer=staff.mkt2)
    names = [c["name"] for c in api(staff.mkt).get(reverse("api-search"), {"q": "欧阳"}).json()["customers"]]
    assert names == ["欧阳锋"]
    names = [c["name"] for c in api(staff.boss).get(reverse("api-search"), {"q": "欧阳"}).json()["customers"]]
    assert sorted(names) == ["欧阳克", "欧阳锋"]
    # Numbers are masked in the answer, whoever asks.
    row = api(staff.gen).get(reverse("api-search"), {"q": "5678"}).json()["customers"][0]
    assert ID_NUMBER not in row["id_number"] and "13912345678" != row["phone"]


def test_a_customer_without_a_loan_is_found_by_their_own_officer(login, staff):
    CustomerFactory(officer=staff.mkt, name="慕容复")
    response = login(staff.mkt).get(reverse("search"), {"q": "慕容复"})
    assert [c.name for c in response.context["results"].customers] == ["慕容复"]
    assert 'href="/customers/' in response.content.decode()


def test_a_too_short_query_asks_for_more(login, staff, loan):
    response = login(staff.boss).get(reverse("search"), {"q": "12"})
    assert response.context["results"].loans == []
    assert 'data-testid="search-hint"' in response.content.decode()


def test_every_page_has_the_search_box_in_its_header(login, staff):
    html = login(staff.arch).get(reverse("home")).content.decode()
    assert 'data-testid="global-search"' in html and f'action="{reverse("search")}"' in html


def test_a_person_without_a_post_gets_no_api_answer(api, staff, loan):
    assert api(staff.outsider).get(reverse("api-search"), {"q": "欧阳锋"}).status_code == 403
