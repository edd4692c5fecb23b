"""A credit query's report is a file (SPEC §12 "a summary of the result (or the report as a file)"; issue 18 part 4):
optional, but when given the customer's current credit report that the caller may see, or 400
``bad_report_document`` with nothing recorded."""

from __future__ import annotations

import contextlib
import importlib
import re
import types

import pytest
from django.db import transaction

from applications.files import services as files
from applications.files.models import DocumentFile
from loancenter.models import AuditEntry
from postloan import bureau
from postloan.models import CreditQuery
from tests.conftest import PASSWORD
from tests.documents.support import pdf
from tests.factories import CustomerFactory, LoanFactory, add_authorisation, add_credit_report, add_guarantor

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def post(api, user, customer, **body):
    authorisation = add_authorisation(customer, by=user).pk
    return api(user).post(f"/api/customers/{customer.pk}/credit-queries/",
                          {"purpose": "pre_loan", "summary": "无逾期", "authorisation_document": authorisation,
                           **body}, format="json")


def assert_refused(response) -> None:
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "bad_report_document"


def test_a_summary_alone_is_recorded_without_a_report(staff, api, customer):
    for body in ({}, {"report_document": ""}, {"report_document": "  "}, {"report_document": None}):
        made = post(api, staff.mkt, customer, **body)
        assert made.status_code == 201, (body, made.content)
        assert (made.json()["report_document"], made.json()["report_document_url"], made.json()["summary"]) == (
            None, None, "无逾期")
    assert CreditQuery.objects.filter(report_document__isnull=True).count() == 4


@pytest.mark.sidedoor(rule="monitoring",
                      path="api: POST /api/customers/{id}/credit-queries/ with a report that is not its current file")
def test_a_report_that_is_not_the_customers_current_credit_report_is_refused(staff, api, draft):
    customer = draft.customer
    guarantor = CustomerFactory(officer=staff.mkt)
    add_guarantor(draft, guarantor)
    theirs = add_credit_report(CustomerFactory(officer=staff.mkt), by=staff.mkt)
    borrowers = add_credit_report(customer, by=staff.mkt)  # the borrower's, for a guarantor check: not the guarantor's
    superseded = add_credit_report(customer, by=staff.mkt)
    current = add_credit_report(customer, by=staff.mkt)  # version 3: versions 1 and 2 are superseded
    authorisation = add_authorisation(customer, by=staff.mkt)  # another paper
    for value in ("RPT-1", "12.5", "-3", str(current.pk).translate(FULL_WIDTH), 10**30, 999_999, theirs.pk,
                  superseded.pk, authorisation.pk):
        assert_refused(post(api, staff.mkt, customer, report_document=value))
    assert_refused(post(api, staff.mkt, guarantor, purpose="guarantor", loan=draft.pk, report_document=borrowers.pk))
    assert not CreditQuery.objects.exists()
    assert not AuditEntry.objects.filter(action="credit_query").exists()
    # The same query with the current report is recorded.
    assert post(api, staff.mkt, customer, report_document=current.pk).status_code == 201


def test_a_voided_or_doubted_report_is_refused(staff, api, customer):
    report = add_credit_report(customer, by=staff.mkt)
    files.document_void_request(actor=staff.mkt, document_id=report.pk, reason="另一客户的征信报告")
    assert_refused(post(api, staff.mkt, customer, report_document=report.pk))
    files.document_void_decide(actor=staff.arch, document_id=report.pk, approve=True)
    assert DocumentFile.objects.get(pk=report.pk).state == "voided"
    assert_refused(post(api, staff.mkt, customer, report_document=report.pk))
    assert not CreditQuery.objects.exists()


def test_a_report_filed_with_a_loan_outside_the_callers_scope_is_refused(staff, api, product, customer):
    # The customer is mkt's; one of their loans is mkt2's, and the report was filed with that loan.
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt2, documents=[], files=[])
    filed = add_credit_report(customer, by=staff.mkt2, loan=loan)
    assert_refused(post(api, staff.mkt, customer, report_document=filed.pk))
    assert not CreditQuery.objects.exists()
    made = post(api, staff.mkt2, customer, report_document=str(filed.pk))  # the loan's officer sees it
    assert made.status_code == 201, made.content
    assert CreditQuery.objects.get().report_document == filed


def test_a_void_decided_before_the_query_is_written_is_seen(staff, api, customer, monkeypatch):
    """The report is read again inside the transaction, its row locked: a void decided between the first look and
    the write refuses the query."""
    report = add_credit_report(customer, by=staff.mkt)
    real_atomic = transaction.atomic

    @contextlib.contextmanager
    def voided_meanwhile(*args, **kwargs):
        DocumentFile.objects.filter(pk=report.pk).update(state="voided")  # another request's decision, committed
        with real_atomic(*args, **kwargs):
            yield

    monkeypatch.setattr(bureau, "transaction", types.SimpleNamespace(atomic=voided_meanwhile))  # the service's only
    assert_refused(post(api, staff.mkt, customer, report_document=report.pk))
    assert not CreditQuery.objects.exists()


def test_a_query_with_its_report_file_is_shown_with_a_link(staff, api, client, settings, customer):
    uploaded = api(staff.mkt).post(f"/api/customers/{customer.pk}/documents/",
                                   {"code": "credit_report", "file": pdf("征信报告.pdf")}, format="multipart")
    assert uploaded.status_code == 201, uploaded.content
    report = uploaded.json()["id"]
    made = post(api, staff.mkt, customer, report_document=str(report), summary="新增两笔信用卡负债")
    assert made.status_code == 201, made.content
    assert (made.json()["report_document"], made.json()["report_document_url"]) == (
        report, f"/api/documents/{report}/file/")
    assert api(staff.mkt).get(made.json()["report_document_url"]).status_code == 200
    listed = api(staff.mkt).get(f"/api/customers/{customer.pk}/credit-queries/").json()
    assert [(q["report_document"], q["report_legacy"]) for q in listed] == [(report, "")]
    entry = AuditEntry.objects.get(action="credit_query")
    assert (entry.payload["report"], entry.payload["report_version"]) == (report, 1)
    # The register links the query to the file; a query without one shows a dash, an old typed one its text.
    CreditQuery.objects.create(customer=customer, purpose="pre_loan", queried_by=staff.mkt,
                               authorisation_legacy="AUTH-1", report_legacy="RPT-2019-7")
    client.login(username="mkt", password=PASSWORD)
    chinese(client, settings)
    page = client.get("/postloan/credit-queries/").content.decode()
    cells = [c.split("</td>")[0] for c in page.split('data-testid="report">')[1:]]
    assert len(cells) == 2
    linked = next(c for c in cells if "href" in c)
    assert f'href="/documents/{report}/file/"' in linked and "征信报告.pdf" in linked
    typed = next(c for c in cells if "href" not in c)
    assert "RPT-2019-7" in typed and "手工填写的编号,无文件" in typed
    assert client.get(f"/documents/{report}/file/").status_code == 200


def chinese(client, settings) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"  # as the language switch leaves it


def report_options(html: str) -> list[str]:
    select = html.split('<select name="report_document"')[1].split("</select>")[0]
    return re.findall(r'<option value="([^"]*)"', select)


def test_the_form_offers_the_customers_current_reports_and_records_the_one_posted_back(staff, client, settings,
                                                                                       customer):
    url = f"/postloan/customers/{customer.pk}/credit-queries/new/"
    authorisation = add_authorisation(customer, by=staff.mkt)
    client.login(username="mkt", password=PASSWORD)
    chinese(client, settings)
    empty = client.get(url)
    assert report_options(empty.content.decode()) == [""]  # only "none": the report is optional
    add_credit_report(customer, by=staff.mkt)  # version 1, superseded by version 2
    current = add_credit_report(customer, by=staff.mkt)
    add_credit_report(CustomerFactory(officer=staff.mkt), by=staff.mkt)
    page = client.get(url)
    row = next(r for r in page.context["rows"] if r["name"] == "report_document")
    assert row["kind"] == "select" and not row["required"]
    assert "第2版" in row["options"][0][1] and "征信报告.pdf" in row["options"][0][1]
    offered = report_options(page.content.decode())
    assert offered == ["", str(current.pk)]
    # Post back what the page offered: each choice is accepted, "none" records the summary alone.
    for value in offered:
        done = client.post(url, {"purpose": "pre_loan", "authorisation_document": str(authorisation.pk),
                                 "report_document": value, "summary": "无逾期"})
        assert done.status_code == 302, value
    assert sorted(CreditQuery.objects.values_list("report_document_id", flat=True), key=str) == [current.pk, None]


def test_the_form_refuses_a_report_that_is_not_offered(staff, client, settings, customer):
    url = f"/postloan/customers/{customer.pk}/credit-queries/new/"
    authorisation = add_authorisation(customer, by=staff.mkt)
    old = add_credit_report(customer, by=staff.mkt)
    add_credit_report(customer, by=staff.mkt)
    client.login(username="mkt", password=PASSWORD)
    chinese(client, settings)
    for value in ("RPT-1", str(old.pk), str(authorisation.pk), "999999"):
        refused = client.post(url, {"purpose": "pre_loan", "authorisation_document": str(authorisation.pk),
                                    "report_document": value, "summary": "无逾期"})
        assert refused.status_code == 400, value
        row = next(r for r in refused.context["rows"] if r["name"] == "report_document")
        assert row["errors"] and row["kind"] == "select"
        assert "征信报告" in row["errors"][0]
    assert not CreditQuery.objects.exists()


def test_the_migration_links_references_that_name_the_customers_report_and_keeps_the_rest(staff, customer):
    from django.apps import apps

    migration = importlib.import_module("postloan.migrations.0023_credit_query_report_file")
    filed = add_credit_report(customer, by=staff.mkt)
    authorisation = add_authorisation(customer, by=staff.mkt)
    theirs = add_credit_report(CustomerFactory(officer=staff.mkt), by=staff.mkt)
    typed = {ref: CreditQuery.objects.create(customer=customer, purpose="pre_loan", queried_by=staff.mkt,
                                             authorisation_document=authorisation, report_legacy=ref)
             for ref in (f" {filed.pk} ", "RPT-1", str(authorisation.pk), str(theirs.pk),
                         str(filed.pk).translate(FULL_WIDTH), "")}
    migration.link_reports(apps, None)
    linked = {ref: CreditQuery.objects.values_list("report_document_id", "report_legacy").get(pk=q.pk)
              for ref, q in typed.items()}
    assert linked == {f" {filed.pk} ": (filed.pk, ""), "RPT-1": (None, "RPT-1"),
                      str(authorisation.pk): (None, str(authorisation.pk)), str(theirs.pk): (None, str(theirs.pk)),
                      str(filed.pk).translate(FULL_WIDTH): (None, str(filed.pk).translate(FULL_WIDTH)), "": (None, "")}
