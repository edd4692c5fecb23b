"""The credit-bureau register (SPEC §12, §16.22, rule 22; issue 18 part 4): a query relies on the customer's written
authorisation, a real file (their current credit-report authorisation), or is refused with 400 ``no_authorisation``."""

from __future__ import annotations

import pytest

from applications.files import services as files
from applications.files.models import DocumentFile
from loancenter.models import AuditEntry
from postloan.models import CreditQuery
from tests.conftest import PASSWORD
from tests.documents.support import pdf
from tests.factories import CustomerFactory, LoanFactory, add_authorisation, add_guarantor


def post(api, user, customer, **body):
    return api(user).post(f"/api/customers/{customer.pk}/credit-queries/",
                          {"purpose": "pre_loan", "summary": "无逾期", **body}, format="json")


def upload_authorisation(api, user, customer) -> int:
    """The authorisation as the marketing officer files it: uploaded to the customer's folder through the API."""
    made = api(user).post(f"/api/customers/{customer.pk}/documents/",
                          {"code": "credit_authorization", "file": pdf("征信授权书.pdf")}, format="multipart")
    assert made.status_code == 201, made.content
    return made.json()["id"]


def assert_refused(response) -> None:
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "no_authorisation"


@pytest.mark.sidedoor(rule="monitoring", path="api: POST /api/customers/{id}/credit-queries/ without an authorisation")
def test_a_query_without_the_written_authorisation_is_refused(staff, api, customer):
    for body in ({}, {"authorisation_document": "  "}, {"authorisation_document": None}):
        assert_refused(post(api, staff.mkt, customer, **body))
    assert not CreditQuery.objects.exists()


@pytest.mark.sidedoor(rule="monitoring",
                      path="api: POST /api/customers/{id}/credit-queries/ with a reference that is not its file")
def test_an_authorisation_that_is_not_the_customers_current_file_is_refused(staff, api, customer):
    other = CustomerFactory(officer=staff.mkt)
    theirs = add_authorisation(other, by=staff.mkt)
    id_card = files.document_upload(actor=staff.mkt, customer_id=customer.pk, code="id_card", upload=pdf("身份证.pdf"))
    old = add_authorisation(customer, by=staff.mkt)
    add_authorisation(customer, by=staff.mkt)  # version 2: version 1 is superseded
    for value in ("AUTH-1", "DOC-2025-0042", "12.5", "-3", "１２", 10**30, 999_999, theirs.pk, id_card.pk, old.pk):
        assert_refused(post(api, staff.mkt, customer, authorisation_document=value))
    assert not CreditQuery.objects.exists()
    assert not AuditEntry.objects.filter(action="credit_query").exists()


def test_a_voided_or_doubted_authorisation_is_refused(staff, api, customer):
    doubted = add_authorisation(customer, by=staff.mkt)
    files.document_void_request(actor=staff.mkt, document_id=doubted.pk, reason="另一客户的授权书")
    assert_refused(post(api, staff.mkt, customer, authorisation_document=doubted.pk))
    files.document_void_decide(actor=staff.arch, document_id=doubted.pk, approve=True)
    assert DocumentFile.objects.get(pk=doubted.pk).state == "voided"
    assert_refused(post(api, staff.mkt, customer, authorisation_document=doubted.pk))
    assert not CreditQuery.objects.exists()
    # A new upload is the current authorisation again.
    fresh = add_authorisation(customer, by=staff.mkt)
    assert post(api, staff.mkt, customer, authorisation_document=fresh.pk).status_code == 201


def test_an_authorisation_filed_with_a_loan_outside_the_callers_scope_is_refused(staff, api, product, customer):
    # The customer is mkt's; one of their loans is mkt2's, and their authorisation was filed with that loan.
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt2, documents=[], files=[])
    filed = add_authorisation(customer, by=staff.mkt2, loan=loan)
    assert_refused(post(api, staff.mkt, customer, authorisation_document=filed.pk))
    assert not CreditQuery.objects.exists()
    made = post(api, staff.mkt2, customer, authorisation_document=filed.pk)  # the loan's officer sees it
    assert made.status_code == 201, made.content
    assert CreditQuery.objects.get().authorisation_document == filed


def test_a_guarantor_check_relies_on_the_guarantors_own_authorisation(staff, api, draft):
    guarantor = CustomerFactory(officer=staff.mkt)
    add_guarantor(draft, guarantor)
    borrowers = add_authorisation(draft.customer, by=staff.mkt)
    assert_refused(post(api, staff.mkt, guarantor, purpose="guarantor", authorisation_document=borrowers.pk))
    assert not CreditQuery.objects.exists()
    theirs = add_authorisation(guarantor, by=staff.mkt)
    made = post(api, staff.mkt, guarantor, purpose="guarantor", authorisation_document=theirs.pk, loan=draft.pk)
    assert made.status_code == 201, made.content
    assert (made.json()["customer"], made.json()["authorisation_document"]) == (guarantor.pk, theirs.pk)


def test_a_query_is_recorded_with_its_structured_result_and_its_authorisation_file(staff, api, client, customer):
    authorisation = upload_authorisation(api, staff.mkt, customer)
    response = post(api, staff.mkt, customer, purpose="post_loan", authorisation_document=str(authorisation),
                    summary="新增两笔信用卡负债", overdue_count_24m=2, worst_dpd=45, queries_6m=7, new_debt="35000.00")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["purpose"], body["queried_by"], body["overdue_count_24m"], body["worst_dpd"], body["queries_6m"],
            body["new_debt"], body["authorisation_document"]) == ("post_loan", "mkt", 2, 45, 7, "35000.00",
                                                                  authorisation)
    assert CreditQuery.objects.get().authorisation_document_id == authorisation
    entry = AuditEntry.objects.get(action="credit_query")
    assert entry.payload["authorisation"] == authorisation
    listed = api(staff.mkt).get(f"/api/customers/{customer.pk}/credit-queries/")
    assert [q["id"] for q in listed.json()] == [body["id"]]
    # The register links the query to the file.
    client.login(username="mkt", password=PASSWORD)
    page = client.get("/postloan/credit-queries/").content.decode()
    cell = page.split('data-testid="authorisation">')[1].split("</td>")[0]
    assert f'href="/documents/{authorisation}/file/"' in cell and "征信授权书.pdf" in cell
    assert client.get(f"/documents/{authorisation}/file/").status_code == 200


def chinese(client, settings) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"  # as the language switch leaves it


def test_the_form_offers_the_customers_current_authorisations_only(staff, client, settings, customer):
    url = f"/postloan/customers/{customer.pk}/credit-queries/new/"
    client.login(username="mkt", password=PASSWORD)
    chinese(client, settings)
    empty = client.get(url)
    row = next(r for r in empty.context["rows"] if r["name"] == "authorisation_document")
    assert row["kind"] == "select" and row["options"] == []
    assert "尚无征信查询授权书" in empty.content.decode()
    add_authorisation(customer, by=staff.mkt)  # version 1, superseded by version 2
    current = add_authorisation(customer, by=staff.mkt)
    add_authorisation(CustomerFactory(officer=staff.mkt), by=staff.mkt)
    page = client.get(url)
    row = next(r for r in page.context["rows"] if r["name"] == "authorisation_document")
    assert [value for value, _label, _chosen in row["options"]] == [str(current.pk)]
    assert "第2版" in row["options"][0][1] and "征信授权书.pdf" in row["options"][0][1]
    assert f'<option value="{current.pk}">' in page.content.decode()
    # A customer's page leads to the form.
    assert url in client.get(f"/customers/{customer.pk}/").content.decode()


def test_the_form_refuses_what_is_not_a_current_authorisation_and_records_the_chosen_file(staff, client, settings,
                                                                                         customer):
    url = f"/postloan/customers/{customer.pk}/credit-queries/new/"
    old = add_authorisation(customer, by=staff.mkt)
    current = add_authorisation(customer, by=staff.mkt)
    theirs = add_authorisation(CustomerFactory(officer=staff.mkt), by=staff.mkt)
    client.login(username="mkt", password=PASSWORD)
    chinese(client, settings)
    for value in ("", "AUTH-1", str(old.pk), str(theirs.pk), "999999"):
        refused = client.post(url, {"purpose": "pre_loan", "authorisation_document": value, "summary": "无逾期"})
        assert refused.status_code == 400, value
        assert "须凭客户的书面授权方可查询征信" in refused.content.decode()
        row = next(r for r in refused.context["rows"] if r["name"] == "authorisation_document")
        assert row["errors"] and row["kind"] == "select"
    assert not CreditQuery.objects.exists()
    done = client.post(url, {"purpose": "pre_loan", "authorisation_document": str(current.pk), "summary": "无逾期"})
    assert done.status_code == 302
    assert CreditQuery.objects.get().authorisation_document == current


def test_who_may_query_and_whom(staff, api, customer):
    authorisation = add_authorisation(customer, by=staff.mkt).pk
    body = {"authorisation_document": authorisation}
    assert post(api, staff.arch, customer, **body).status_code == 403
    bad = post(api, staff.mkt, customer, **{**body, "purpose": "curiosity"})
    assert bad.status_code == 400 and bad.json()["code"] == "purpose"
    stranger = CustomerFactory(officer=staff.mkt2)
    assert post(api, staff.mkt, stranger, authorisation_document=add_authorisation(stranger, by=staff.mkt2).pk
                ).status_code == 404
    assert not CreditQuery.objects.exists()


def test_the_manager_sees_queries_per_officer(staff, api, client, customer):
    authorisation = add_authorisation(customer, by=staff.mkt).pk
    for _n in range(3):
        assert post(api, staff.mkt, customer, authorisation_document=authorisation).status_code == 201
    client.login(username="boss", password=PASSWORD)
    page = client.get("/postloan/credit-queries/")
    assert page.status_code == 200
    text = page.content.decode()
    assert '<td>mkt</td><td class="num">3</td>' in text


def test_the_migration_links_references_that_name_the_customers_authorisation_and_keeps_the_rest(staff, customer):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("postloan.migrations.0021_credit_query_authorisation_file")
    filed = add_authorisation(customer, by=staff.mkt)
    id_card = add_authorisation(customer, by=staff.mkt)
    DocumentFile.objects.filter(pk=id_card.pk).update(code="id_card")
    typed = {ref: CreditQuery.objects.create(customer=customer, purpose="pre_loan", queried_by=staff.mkt,
                                             authorisation_legacy=ref)
             for ref in (str(filed.pk), "AUTH-1", str(id_card.pk), " 000 ")}
    migration.link_files(apps, None)
    linked = {ref: CreditQuery.objects.values_list("authorisation_document_id", "authorisation_legacy").get(pk=q.pk)
              for ref, q in typed.items()}
    assert linked == {str(filed.pk): (filed.pk, ""), "AUTH-1": (None, "AUTH-1"),
                      str(id_card.pk): (None, str(id_card.pk)), " 000 ": (None, " 000 ")}
