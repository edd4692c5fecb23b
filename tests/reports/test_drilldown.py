"""/reports/loans/: the loans behind a dashboard figure, filtered, paginated, exported; the manager (and admin) only."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from applications.models import Loan, Status
from loancenter.models import User
from loancenter.services import staff_set_posts
from postloan.models import BatchRun
from tests.factories import CustomerFactory, LoanFactory

URL = "/reports/loans/"


BOOK = date(2026, 6, 30)  # the last nightly run: days past due are counted to it


def overdue(days: int) -> dict:
    return {"oldest_unpaid_due": BOOK - timedelta(days=days)}


def make(staff, product, customer, officer=None, **fields):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=officer or staff.mkt)
    Loan.objects.filter(pk=loan.pk).update(**fields)
    return loan


@pytest.fixture
def book(staff, product, customer):
    BatchRun.objects.create(as_of=BOOK, status=BatchRun.DONE)
    return {
        "current": make(staff, product, customer, status=Status.ACTIVE, grade="normal", collection_tier="",
                        oldest_unpaid_due=BOOK + timedelta(days=10)),
        "t1": make(staff, product, customer, status=Status.ACTIVE, grade="normal", collection_tier="T1", **overdue(12)),
        "t2": make(staff, product, customer, officer=staff.mkt2, status=Status.ACTIVE, grade="special_mention",
                   collection_tier="T2", **overdue(45)),
        "npl": make(staff, product, customer, status=Status.ACTIVE, grade="substandard", collection_tier="T3",
                    **overdue(200)),
        "gone": make(staff, product, customer, status=Status.WRITTEN_OFF, grade="loss", collection_tier="T3",
                     **overdue(400)),
        "draft": make(staff, product, customer),
    }


def shown(response) -> set[int]:
    return {loan.pk for loan in response.context["loans"]}


def ids(book, *names) -> set[int]:
    return {book[n].pk for n in names}


def test_filters_pick_the_loans_behind_each_figure(client, staff, book):
    client.force_login(staff.boss)
    assert shown(client.get(URL + "?status=active")) == ids(book, "current", "t1", "t2", "npl")
    assert shown(client.get(URL + "?status=active&dpd_min=1&dpd_max=90")) == ids(book, "t1", "t2")
    assert shown(client.get(URL + "?grade=substandard&grade=doubtful&grade=loss&status=active")) == ids(book, "npl")
    assert shown(client.get(URL + "?tier=current&status=active")) == ids(book, "current")
    assert shown(client.get(URL + "?tier=T2")) == ids(book, "t2")
    assert shown(client.get(URL + f"?officer={staff.mkt2.pk}")) == ids(book, "t2")
    assert shown(client.get(URL + "?recovery=on")) == ids(book, "npl", "gone")
    assert [loan.pk for loan in client.get(URL + "?status=active&order=-dpd").context["loans"]][0] == book["npl"].pk


def test_pages_of_fifty(client, staff, product, customer):
    for _ in range(51):
        make(staff, product, customer, status=Status.ACTIVE)
    client.force_login(staff.boss)
    first = client.get(URL + "?status=active")
    assert len(first.context["loans"]) == 50 and first.context["has_next"]
    second = client.get(URL + "?status=active&page=2")
    assert len(second.context["loans"]) == 1 and not second.context["has_next"]
    assert shown(first).isdisjoint(shown(second))


def test_csv_and_excel_export_the_same_filter(client, staff, book):
    client.force_login(staff.boss)
    response = client.get(URL + "?status=active&dpd_min=1&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][0] == "Application no."
    assert {r[0] for r in rows[1:]} == {book[n].application_no for n in ("t1", "t2", "npl")}
    response = client.get(URL + "?status=active&dpd_min=1&format=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert {r[0] for r in values[1:]} == {book[n].application_no for n in ("t1", "t2", "npl")}
    assert {r[7] for r in values[1:]} == {12, 45, 200}


@pytest.mark.parametrize("who", ["mkt", "rev", "appr", "gen", "arch", "outsider"])
def test_only_the_manager_sees_drill_downs(client, staff, who):
    client.force_login(getattr(staff, who))
    assert client.get(URL).status_code == 403
    assert client.get(URL + "?format=csv").status_code == 403


def test_a_superuser_sees_drill_downs_only_with_the_manager_post(client, db):
    # Superusers hold no post powers (SPEC §16.14); this test said the flag alone was enough before issue 13.
    root = User.objects.create_superuser("root", password="x-very-long-pass")
    client.force_login(root)
    assert client.get(URL).status_code == 403
    staff_set_posts(user=root, posts={"manager"}, actor=None)
    assert client.get(URL).status_code == 200


def test_query_count_stays_constant_as_loans_grow(client, staff, book, product, django_assert_max_num_queries):
    client.force_login(staff.boss)
    with django_assert_max_num_queries(15) as before:
        client.get(URL + "?status=active")
    for _ in range(10):
        make(staff, product, CustomerFactory(officer=staff.mkt2), officer=staff.mkt2, status=Status.ACTIVE)
    with django_assert_max_num_queries(len(before.captured_queries)):
        response = client.get(URL + "?status=active")
    assert len(response.context["loans"]) == 14
