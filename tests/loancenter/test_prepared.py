"""Reads compiled once (loancenter/prepared.py): the same rows as their querysets, in the reader's scope, never stale."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.http import Http404

from applications import selectors
from applications.models import Loan, LoanDocument, Status
from loancenter.lib.dates import today
from loancenter.models import User
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, add_collateral, add_guarantor


def _fields(instance) -> dict | None:
    if instance is None:  # an empty nullable relation
        return None
    return {field.attname: field.value_from_object(instance) for field in instance._meta.concrete_fields}


def _same(prepared, ordered, related: tuple[str, ...] = ()) -> None:
    """Equal rows in the same order, every concrete field of the same value and type, related objects included."""
    assert [obj.pk for obj in prepared] == [obj.pk for obj in ordered]
    for mine, theirs in zip(prepared, ordered, strict=True):
        assert type(mine) is type(theirs)
        assert _fields(mine) == _fields(theirs)
        assert {k: type(v) for k, v in _fields(mine).items()} == {k: type(v) for k, v in _fields(theirs).items()}
        for name in related:
            assert _fields(getattr(mine, name)) == _fields(getattr(theirs, name))


@pytest.fixture
def reviewed(flow, draft, staff):
    """A loan under review: documents, a guarantor, a collateral, a completed investigation, an audit trail."""
    add_guarantor(draft, CustomerFactory(officer=staff.mkt))
    add_collateral(draft)
    return flow.advance(draft, Status.UNDER_REVIEW)


def test_access_loan_gives_the_loan_with_its_customer_product_and_officer_as_the_orm_does(reviewed, staff,
                                                                                           django_assert_num_queries):
    assert staff.rev.posts == {"reviewer"}  # read before counting: the page has them from its request
    with django_assert_num_queries(1):
        loan = selectors.access_loan(staff.rev, reviewed.pk)
        related = (loan.customer.name, loan.product.code, loan.marketing_officer.username)  # no further query
    expected = Loan.objects.select_related("customer", "product", "marketing_officer").get(pk=reviewed.pk)
    _same([loan], [expected], related=("customer", "product", "marketing_officer"))
    assert related == (reviewed.customer.name, reviewed.product.code, staff.mkt.username)
    assert isinstance(loan.amount, Decimal) and loan.status_changed_at.tzinfo is not None


@pytest.mark.parametrize(("read", "rows", "related"), [
    ("loan_documents", lambda loan: loan.documents.all(), ()),
    ("loan_guarantors", lambda loan: loan.guarantors.select_related("customer"), ("customer",)),
    ("loan_collaterals", lambda loan: loan.collaterals.all(), ()),
    ("loan_investigations", lambda loan: loan.investigations.select_related("assignee"), ("assignee",)),
    ("loan_audit_entries", lambda loan: loan.audit_entries.select_related("actor"), ("actor",)),
])
def test_each_read_of_the_loan_page_gives_what_its_related_manager_gives(reviewed, read, rows, related,
                                                                         django_assert_num_queries):
    expected = list(rows(reviewed))
    assert expected, "the fixture gives every read at least one row"
    with django_assert_num_queries(1):
        found = getattr(selectors, read)(reviewed)
        for obj in found:
            assert obj.loan is reviewed  # as the related manager sets it
            for name in related:
                getattr(obj, name)  # loaded with the row
    _same(found, expected, related)


def test_every_call_reads_the_database(reviewed):
    before = {d.code for d in selectors.loan_documents(reviewed)}
    LoanDocument.objects.create(loan=reviewed, code="marriage_certificate")
    after = {d.code for d in selectors.loan_documents(reviewed)}
    assert after == before | {"marriage_certificate"}


def test_the_statement_compiled_for_one_officer_does_not_open_another_officers_loan(draft, staff, client):
    assert selectors.access_loan(staff.mkt, draft.pk) == draft  # compiles mkt's scope first
    with pytest.raises(Http404):
        selectors.access_loan(staff.mkt2, draft.pk)  # same post, another officer: another statement
    client.login(username="mkt2", password=PASSWORD)
    assert client.get(f"/loans/{draft.pk}/").status_code == 404
    client.login(username="mkt", password=PASSWORD)
    assert client.get(f"/loans/{draft.pk}/").status_code == 200


def test_a_new_post_widens_the_scope_on_the_next_read(draft, staff):
    with pytest.raises(Http404):
        selectors.access_loan(staff.mkt2, draft.pk)
    staff.mkt2.groups.add(Group.objects.get(name="manager"))
    assert selectors.access_loan(User.objects.get(pk=staff.mkt2.pk), draft.pk) == draft


@pytest.mark.parametrize("pk", ["99999999999999999999", "-1", "0"])
def test_an_id_no_loan_can_have_is_not_found(draft, staff, client, pk):
    client.login(username="boss", password=PASSWORD)
    assert client.get(f"/loans/{pk}/").status_code == 404
    assert client.get(f"/api/loans/{pk}/").status_code == 404
    with pytest.raises(Http404):
        selectors.access_loan(staff.boss, pk)
    assert selectors.loan_documents.read(None, int(pk)) == []


@pytest.mark.parametrize("pk", ["abc", None, 1.5j])
def test_a_value_that_is_not_an_id_is_not_found(draft, staff, pk):
    with pytest.raises(Http404):
        selectors.access_loan(staff.boss, pk)


def test_an_id_given_as_digits_finds_the_loan(draft, staff):
    assert selectors.access_loan(staff.boss, str(draft.pk)) == draft  # a URL's captured text, as DRF passes it


# Server-side prepared statements (loancenter.lib.sql.fetch_all), PostgreSQL only.
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements need PostgreSQL: set DATABASE_URL")


def _prepared_texts() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [text for (text,) in cursor.fetchall()]


@postgresql_only
def test_the_loan_page_runs_its_reads_as_prepared_statements(reviewed, client):
    client.login(username="rev", password=PASSWORD)
    assert client.get(f"/loans/{reviewed.pk}/").status_code == 200
    texts = _prepared_texts()
    # django_session is no longer among them: the session is read by Django's own store since issue 13/14.
    for table in ("applications_loandocument", "applications_guarantor", "applications_collateral",
                  "applications_investigation", "loancenter_auditentry", "auth_group"):
        assert any(f'FROM "{table}"' in text or f"FROM {table}" in text for text in texts), table


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_read_after_a_reconnect_prepares_its_statement_again(reviewed):
    before = [d.pk for d in selectors.loan_documents(reviewed)]
    connection.close()  # a restart or CONN_MAX_AGE: the new session has no prepared statements
    assert [d.pk for d in selectors.loan_documents(reviewed)] == before
    assert any("applications_loandocument" in text for text in _prepared_texts())


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_statement_first_prepared_in_a_rolled_back_transaction_still_runs(reviewed):
    connection.close()
    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction.atomic():
        assert selectors.loan_documents(reviewed)  # prepared here
        raise Refused  # a refused transition rolls its transaction back
    assert [d.code for d in selectors.loan_documents(reviewed)] == [d.code for d in reviewed.documents.all()]


@postgresql_only
def test_a_session_keeps_a_bounded_number_of_prepared_statements(reviewed, monkeypatch):
    from loancenter.lib import sql

    monkeypatch.setattr(sql, "PER_SESSION", 3)
    for n in range(10):  # ten texts: the session starts over instead of growing
        assert sql.fetch_all(connection, f"SELECT %s + {n}", [1]) == [(1 + n,)]
    assert len(_prepared_texts()) <= 3
    assert [d.code for d in selectors.loan_documents(reviewed)] == [d.code for d in reviewed.documents.all()]


def test_an_active_loans_page_reads_give_what_the_orm_gives(flow, staff, customer):
    from disbursement.models import CollateralRegistration, Contract, Disbursement, LoanReceipt
    from disbursement.selectors import after_approval
    from postloan.models import Repayment
    from postloan.services import is_paid_up, outstanding_total, repayment_post
    from tests.factories import LoanFactory, SecuredProductFactory

    loan = LoanFactory(customer=customer, product=SecuredProductFactory(code="house"), marketing_officer=staff.mkt)
    add_guarantor(loan, CustomerFactory(officer=staff.mkt))
    add_collateral(loan)
    loan = flow.advance(loan, Status.ACTIVE)
    repayment_post(loan_id=loan.pk, actor=staff.disb, amount=Decimal("1000.00"), paid_on=today(),
                   reference="CNT-PREP-1")
    loan = Loan.objects.select_related("customer", "product", "marketing_officer").get(pk=loan.pk)

    shown = after_approval(loan, staff.boss)
    _same(shown["contracts"], list(Contract.objects.filter(loan=loan).select_related("guarantor__customer", "collateral")),
          related=("collateral", "guarantor"))
    assert {c.collateral_id is not None for c in shown["contracts"]} == {True, False}  # both kinds of row
    assert [c.guarantor.customer.name for c in shown["contracts"] if c.guarantor_id]  # the nested join too
    for key, model in (("registration", CollateralRegistration), ("receipt", LoanReceipt), ("disbursement", Disbursement)):
        _same([shown[key]], [model.objects.filter(loan=loan).first()])
    _same(shown["repayments"], list(Repayment.objects.filter(loan=loan).select_related("posted_by").order_by("paid_on", "id")),
          related=("posted_by",))
    assert [i.number for i in shown["installments"]] == list(loan.installments.order_by("number").values_list("number", flat=True))
    assert shown["outstanding_total"] == outstanding_total(loan) > 0
    assert shown["paid_up"] is is_paid_up(loan) is False
