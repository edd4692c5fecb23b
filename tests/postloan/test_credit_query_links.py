"""The investigation and the post-loan check link to the credit-bureau queries they relied on (SPEC §12, issue 18
part 4): through the API, the browser forms, and shown on the pages."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from applications.models import Investigation, Status
from postloan.models import CreditQuery, PostLoanCheck
from tests.conftest import payloads
from tests.factories import CustomerFactory, add_authorisation, add_credit_report, add_guarantor

SH = ZoneInfo("Asia/Shanghai")
DISBURSED = date(2025, 1, 15)


def at(day: date, hour: int = 10):
    return time_machine.travel(datetime.combine(day, time(hour), tzinfo=SH), tick=False)


def record(api, user, customer, purpose="pre_loan", summary="无逾期", report=None) -> int:
    authorisation = add_authorisation(customer, by=user)
    made = api(user).post(f"/api/customers/{customer.pk}/credit-queries/",
                          {"purpose": purpose, "authorisation_document": authorisation.pk, "summary": summary,
                           "report_document": report.pk if report else ""}, format="json")
    assert made.status_code == 201, made.content
    return made.json()["id"]


@pytest.fixture
def investigating(staff, flow, draft):
    guarantor = CustomerFactory(officer=staff.mkt)
    add_guarantor(draft, guarantor)
    loan = flow.advance(draft, Status.INVESTIGATING)
    loan.guarantor_customer = guarantor
    return loan


def test_the_investigation_links_the_queries_it_relied_on_through_the_api(staff, api, client, investigating):
    loan = investigating
    report = add_credit_report(loan.customer, by=staff.inv)
    mine = record(api, staff.inv, loan.customer, report=report)
    theirs = record(api, staff.inv, loan.guarantor_customer, purpose="guarantor", summary="担保人无逾期")
    stranger = record(api, staff.mkt, CustomerFactory(officer=staff.mkt))
    body = payloads(staff, loan)["complete_investigation"]
    url = f"/api/loans/{loan.pk}/transitions/complete_investigation/"
    refused = api(staff.inv).post(url, {**body, "credit_queries": [mine, stranger]}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "credit_query_unknown"
    assert str(stranger) in refused.json()["detail"]
    loan.refresh_from_db()
    assert loan.status == Status.INVESTIGATING
    done = api(staff.inv).post(url, {**body, "credit_queries": [mine, theirs]}, format="json")
    assert done.status_code == 200, done.content
    investigation = Investigation.objects.get(loan=loan)
    assert sorted(investigation.credit_queries.values_list("pk", flat=True)) == sorted([mine, theirs])
    listed = api(staff.inv).get(f"/api/customers/{loan.customer_id}/credit-queries/").json()
    assert [q["investigations"] for q in listed] == [[investigation.pk]]
    client.force_login(staff.inv)
    page = client.get(f"/loans/{loan.pk}/").content.decode()
    cell = page.split('data-testid="investigation-credit-queries">')[1].split("</dd>")[0]
    assert loan.customer.name in cell and loan.guarantor_customer.name in cell and "担保人无逾期" in cell
    assert cell.count("<a ") == 1 and f'href="/documents/{report.pk}/file/"' in cell  # the borrower's report


def rendered(rows: list[dict]) -> dict:
    """What a browser posts back for the rows the page rendered, as they were filled in."""
    data: dict = {}
    for row in rows:
        if row["kind"] == "checkbox":
            if row.get("checked"):
                data[row["name"]] = "on"
        elif row["kind"] in ("select", "multiselect"):
            chosen = [value for value, _label, selected in row["options"] if selected]
            if chosen:
                data[row["name"]] = chosen if row["kind"] == "multiselect" else chosen[0]
        elif row.get("value") not in (None, ""):
            data[row["name"]] = row["value"]
    return data


def test_the_investigation_form_offers_the_queries_and_keeps_the_choice(staff, api, client, investigating):
    loan = investigating
    report = add_credit_report(loan.customer, by=staff.inv)
    mine = record(api, staff.inv, loan.customer, report=report)
    client.force_login(staff.inv)
    url = f"/loans/{loan.pk}/do/complete_investigation/"
    page = client.get(url)
    assert page.status_code == 200
    row = next(r for r in page.context["rows"] if r["name"] == "credit_queries")
    assert row["kind"] == "multiselect" and [o[0] for o in row["options"]] == [str(mine)]
    post = {**rendered(page.context["rows"]), "credit_queries": [str(mine)], "opinion": "recommend", "comment": "收入稳定",
            **{flag: "on" for flag in ("identity_verified", "income_verified", "purpose_verified",
                                       "guarantors_verified", "collateral_verified")}}
    done = client.post(url, post)
    assert done.status_code == 302, done.content.decode()[:2000]
    assert list(Investigation.objects.get(loan=loan).credit_queries.values_list("pk", flat=True)) == [mine]


def test_the_post_loan_check_links_its_queries_and_shows_them(staff, api, client, flow, draft):
    guarantor = CustomerFactory(officer=staff.mkt)
    add_guarantor(draft, guarantor)
    with at(DISBURSED):
        loan = flow.advance(draft, Status.ACTIVE)
    check = PostLoanCheck.objects.get(loan=loan)
    with at(DISBURSED + timedelta(days=20)):
        report = add_credit_report(guarantor, by=staff.mkt)
        query = record(api, staff.mkt, guarantor, purpose="guarantor", summary="担保人新增贷款", report=report)
        stranger = record(api, staff.mkt, CustomerFactory(officer=staff.mkt))
        body = {"findings": "资金用于装修,发票一致", "conclusion": "concern", "counterparty_name": "某某装修公司",
                "counterparty_account": "6222020200112233445", "counterparty_bank": "建设银行"}
        refused = api(staff.mkt).post(f"/api/checks/{check.pk}/complete/", {**body, "credit_queries": [stranger]},
                                      format="json")
        assert refused.status_code == 400 and refused.json()["code"] == "credit_query_unknown"
        check.refresh_from_db()
        assert check.status == "open"
        done = api(staff.mkt).post(f"/api/checks/{check.pk}/complete/", {**body, "credit_queries": [query]},
                                   format="json")
        assert done.status_code == 200, done.content
        assert done.json()["credit_queries"] == [query]
        client.force_login(staff.mkt)
        page = client.get(f"/postloan/loans/{loan.pk}/").content.decode()
    assert CreditQuery.objects.get(pk=query).checks.get() == check
    cell = page.split('data-testid="check-credit-queries">')[1].split("</td>")[0]
    assert guarantor.name in cell and f'href="/documents/{report.pk}/file/"' in cell


def test_the_check_form_offers_the_borrowers_and_guarantors_queries(staff, api, client, flow, draft):
    with at(DISBURSED):
        loan = flow.advance(draft, Status.ACTIVE)
    check = PostLoanCheck.objects.get(loan=loan)
    with at(DISBURSED + timedelta(days=20)):
        query = record(api, staff.mkt, loan.customer, purpose="post_loan")
        client.force_login(staff.mkt)
        page = client.get(f"/postloan/checks/{check.pk}/complete/")
        row = next(r for r in page.context["rows"] if r["name"] == "credit_queries")
        assert row["kind"] == "multiselect" and [o[0] for o in row["options"]] == [str(query)]
        done = client.post(f"/postloan/checks/{check.pk}/complete/", {
            "findings": "复查征信无异常", "conclusion": "normal", "counterparty_name": "某某装修公司",
            "counterparty_account": "6222020200112233445", "counterparty_bank": "建设银行",
            "credit_queries": [str(query)]})
    assert done.status_code == 302
    check.refresh_from_db()
    assert check.status == "done" and list(check.credit_queries.values_list("pk", flat=True)) == [query]
