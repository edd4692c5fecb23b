"""Sorting, filters and export on the loan list (issue 15 part 12): each narrows what the reader already sees,
never widens it; the export is the list as filtered, with labels and neutralised text."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from applications.models import Loan
from tests.factories import CustomerFactory, LoanFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(staff, product):
    other_product = ProductFactory(code="other", name="其他贷款")
    small = LoanFactory(customer=CustomerFactory(officer=staff.mkt, name="=HYPERLINK(1)"), product=product,
                        marketing_officer=staff.mkt, amount=Decimal("20000.00"))
    large = LoanFactory(customer=CustomerFactory(officer=staff.mkt, name="周大"), product=other_product,
                        marketing_officer=staff.mkt, amount=Decimal("300000.00"))
    theirs = LoanFactory(customer=CustomerFactory(officer=staff.mkt2, name="吴二"), product=product,
                         marketing_officer=staff.mkt2, amount=Decimal("150000.00"))
    Loan.objects.filter(pk=small.pk).update(created_at=timezone.now() - timedelta(days=40),
                                            status_changed_at=timezone.now() - timedelta(days=40))
    return {"small": small, "large": large, "theirs": theirs, "other_product": other_product}


def listed(client, **params) -> list[str]:
    response = client.get(reverse("loan-list"), params)
    assert response.status_code == 200, response.content.decode()[:500]
    return [str(loan) for loan in response.context["page"].object_list]


def test_the_officer_filters_by_product_and_amount_within_their_own_loans(login, staff, book):
    client = login(staff.mkt)
    assert sorted(listed(client)) == sorted([str(book["small"]), str(book["large"])])
    assert listed(client, product=book["other_product"].pk) == [str(book["large"])]
    assert listed(client, amount_min="100000") == [str(book["large"])]  # not mkt2's 150,000
    assert listed(client, amount_max="50000") == [str(book["small"])]
    assert listed(client, officer=staff.mkt2.pk) == []  # another officer's loans stay out of scope


def test_the_manager_filters_by_officer_state_and_dates(login, staff, book):
    client = login(staff.boss)
    assert listed(client, officer=staff.mkt2.pk) == [str(book["theirs"])]
    assert listed(client, status="draft", sort="amount_desc") == [str(book[k]) for k in ("large", "theirs", "small")]
    assert listed(client, status="active") == []
    today = timezone.localdate()
    assert str(book["small"]) not in listed(client, created_from=str(today - timedelta(days=1)))
    assert listed(client, created_to=str(today - timedelta(days=30))) == [str(book["small"])]
    assert listed(client, changed_to=str(today - timedelta(days=30))) == [str(book["small"])]


@pytest.mark.parametrize("sort,order", [("amount_asc", ["small", "theirs", "large"]),
                                        ("amount_desc", ["large", "theirs", "small"]),
                                        ("waiting", ["small", "large", "theirs"]),
                                        ("newest", ["theirs", "large", "small"])])
def test_every_sort_orders_the_list(login, staff, book, sort, order):
    assert listed(login(staff.boss), sort=sort) == [str(book[k]) for k in order]


def test_the_sort_options_are_labelled_in_the_readers_language(login, staff, book, settings):
    client = login(staff.boss)
    client.cookies["django_language"] = "zh-hans"
    html = client.get(reverse("loan-list"), headers={"accept-language": "zh-hans"}).content.decode()
    assert "金额从大到小" in html and "amount_desc" in html  # the label shown, the code in the value only


def test_a_filter_that_cannot_be_applied_is_refused_not_dropped(login, staff, book):
    client = login(staff.boss)
    response = client.get(reverse("loan-list"), {"amount_min": "5000", "amount_max": "100"})
    assert response.status_code == 400
    assert 'data-testid="filter-errors"' in response.content.decode()
    assert client.get(reverse("loan-list"), {"product": "abc", "format": "csv"}).status_code == 400
    assert client.get(reverse("loan-list"), {"amount_min": "1e15"}).status_code == 400


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_the_csv_export_is_the_filtered_list_in_scope_with_labels_and_neutralised_text(login, staff, book):
    response = login(staff.mkt).get(reverse("loan-list"), {"sort": "amount_asc", "format": "csv"})
    assert response["Content-Disposition"].startswith("attachment")
    rows = _csv(response)
    assert rows[0][:2] == ["Application no.", "Customer"]
    assert [r[0] for r in rows[1:]] == [str(book["small"]), str(book["large"])]  # not mkt2's loan
    assert rows[1][1] == "'=HYPERLINK(1)"
    assert rows[1][4] == "Draft" and rows[1][5] == "20000.00"


def test_the_excel_export_keeps_numbers_numeric(login, staff, book):
    response = login(staff.boss).get(reverse("loan-list"), {"officer": staff.mkt2.pk, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.values)
    assert len(rows) == 2 and rows[1][0] == str(book["theirs"]) and rows[1][5] == 150000


def test_the_page_links_keep_the_filters(login, staff, product):
    for _n in range(51):
        LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
    html = login(staff.mkt).get(reverse("loan-list"), {"sort": "newest", "amount_min": "1"}).content.decode()
    assert "sort=newest&amp;amount_min=1&amp;page=2" in html
    assert "sort=newest&amp;amount_min=1&amp;format=csv" in html


# The collection queue: the same filters, sorts and export, on the loans of the cases the reader owns.


@pytest.fixture
def two_cases(staff, product, t1_case):
    from applications.models import Status
    from postloan.models import CollectionCase
    from tests.api.conftest import drive

    other = LoanFactory(customer=CustomerFactory(officer=staff.mkt2, name="郑三"), product=product,
                        marketing_officer=staff.mkt2, amount=Decimal("50000.00"))
    other = drive(staff, other, Status.ACTIVE)
    theirs = CollectionCase.objects.create(loan=other, opened_on=t1_case.opened_on, tier="T1",
                                           owner_post="marketing", owner=staff.mkt2)
    return t1_case, theirs


def queued(client, **params) -> list[str]:
    response = client.get(reverse("collection-queue"), params)
    assert response.status_code == 200
    return [str(case.loan) for case in response.context["cases"]]


def test_the_collection_queue_filters_sorts_and_exports_within_the_readers_cases(login, staff, two_cases):
    mine, theirs = two_cases
    client = login(staff.boss)
    assert sorted(queued(client)) == sorted([str(mine.loan), str(theirs.loan)])
    assert queued(client, officer=staff.mkt2.pk) == [str(theirs.loan)]
    assert queued(client, amount_max="60000") == [str(theirs.loan)]
    assert queued(client, sort="amount_desc") == [str(mine.loan), str(theirs.loan)]
    # The officer's queue and its export hold their own case only, whatever the filter asks for.
    client = login(staff.mkt)
    assert queued(client) == [str(mine.loan)] and queued(client, officer=staff.mkt2.pk) == []
    rows = _csv(client.get(reverse("collection-queue"), {"format": "csv"}))
    assert [r[0] for r in rows[1:]] == [str(mine.loan)] and rows[1][4] == "Active"


def test_the_api_list_takes_the_same_filters_and_sorts_within_scope(api, staff, book):
    rows = api(staff.mkt).get("/api/loans/", {"sort": "amount_desc"}).json()["results"]
    assert [r["application_no"] for r in rows] == [str(book["large"]), str(book["small"])]
    rows = api(staff.boss).get("/api/loans/", {"officer": staff.mkt2.pk, "amount_min": "100000"}).json()["results"]
    assert [r["application_no"] for r in rows] == [str(book["theirs"])]
    assert api(staff.mkt).get("/api/loans/", {"officer": staff.mkt2.pk}).json()["results"] == []
    refused = api(staff.boss).get("/api/loans/", {"amount_min": "9", "amount_max": "1"})
    assert refused.status_code == 400 and "amount_max" in refused.json()


def test_the_customer_list_exports_what_the_reader_sees_with_numbers_masked(login, staff, book):
    rows = _csv(login(staff.mkt).get(reverse("customer-list"), {"format": "csv"}))
    assert rows[0][:3] == ["Name", "ID number", "Phone"]
    names = sorted(r[0] for r in rows[1:])
    assert names == sorted(["'=HYPERLINK(1)", "周大"])  # not mkt2's customer; formula text neutralised
    customer = book["large"].customer
    (row,) = [r for r in rows[1:] if r[0] == "周大"]
    assert row[1] == customer.masked_id_number and customer.id_number not in row[1]
