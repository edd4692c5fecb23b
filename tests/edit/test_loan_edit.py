"""Rule 22 on the draft application: its edit form keeps every row it shows, changes only what the person changed,
and refuses the second of two concurrent edits (browser form and API)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from applications import services
from applications.models import Collateral, Guarantor, Loan, LoanDocument
from loancenter.lib.dates import today
from loancenter.models import AuditEntry
from tests.edit.support import loan_snapshot, refusals
from tests.factories import CustomerFactory
from tests.support.forms import post_back, rendered_form

pytestmark = pytest.mark.django_db

COLLATERAL = {"kind": "vehicle", "description": "2022款轿车", "owner_name": "张伟", "certificate_no": "京A12345",
              "appraised_value": Decimal("150000.00"), "appraised_on": None, "disposer_consent": True}


@pytest.fixture
def guarantor(staff):
    return CustomerFactory(officer=staff.mkt, name="王担保")


@pytest.fixture
def full_draft(staff, product, customer, guarantor):
    """A draft with a guarantor, a collateral and two documents, entered through the service as the form does."""
    return services.loan_create(actor=staff.mkt, data=services.ApplicationInput(
        customer=customer, product=product, amount=Decimal("80000.00"), term_months=24,
        repayment_method="equal_installment", purpose="home_renovation", purpose_detail="厨房改造",
        interviewed_on=today() - timedelta(days=1), credit_authorised=True,
        guarantors=[(guarantor, "spouse")],
        collaterals=[{**COLLATERAL, "appraised_on": today() - timedelta(days=3)}],
        documents=["id_card", "income_proof"],
    ))


def edit_url(loan):
    return reverse("loan-edit", args=[loan.pk])


def open_form(client, loan):
    page = client.get(edit_url(loan))
    assert page.status_code == 200
    return rendered_form(page.content, testid="application-form")


@pytest.mark.sidedoor(rule="22", path="browser: /loans/{id}/edit/ posted back unchanged")
def test_posting_the_edit_form_back_unchanged_changes_nothing(login, staff, full_draft):
    before = loan_snapshot(full_draft)
    _form, response = post_back(login(staff.mkt), edit_url(full_draft), testid="application-form")
    assert response.status_code == 302
    assert loan_snapshot(full_draft) == before  # rows, their ids, documents (received dates), version, audit


def test_ticking_one_more_document_keeps_guarantors_and_collaterals(login, staff, full_draft, guarantor):
    """Finding 1 of issue 13: this save deleted every guarantor and collateral (``_kept`` dropped unchanged rows)."""
    client = login(staff.mkt)
    before = loan_snapshot(full_draft)
    form = open_form(client, full_draft)
    form.fields.append(("documents", "guarantor_id"))
    response = client.post(edit_url(full_draft), form.data)
    assert response.status_code == 302
    after = loan_snapshot(full_draft)
    assert after["guarantors"] == before["guarantors"] and after["collaterals"] == before["collaterals"]
    assert [d["code"] for d in after["documents"]] == ["id_card", "income_proof", "guarantor_id"]
    assert after["documents"][:2] == before["documents"]  # the two kept rows are the same rows
    entry = AuditEntry.objects.filter(loan=full_draft, action="update").get()
    assert entry.payload["documents"] == {"added": ["guarantor_id"]}
    assert set(entry.payload) == {"old", "new", "documents", "version"} and entry.payload["old"] == {}
    assert after["loan"]["version"] == before["loan"]["version"] + 1


def test_changing_a_row_updates_it_in_place_and_audits_old_and_new(login, staff, full_draft):
    client = login(staff.mkt)
    collateral = full_draft.collaterals.get()
    form = open_form(client, full_draft)
    data = form.data
    data["collaterals-0-appraised_value"] = ["160000.00"]
    data["guarantors-0-relationship"] = ["friend"]
    data["amount"] = ["90000.00"]
    assert client.post(edit_url(full_draft), data).status_code == 302
    row = Collateral.objects.get(loan=full_draft)
    assert row.pk == collateral.pk and row.appraised_value == Decimal("160000.00") and row.version == 2
    assert Guarantor.objects.get(loan=full_draft).relationship == "friend"
    payload = AuditEntry.objects.get(loan=full_draft, action="update").payload
    assert payload["old"] == {"amount": "80000.00"} and payload["new"] == {"amount": "90000.00"}
    assert payload["collaterals"] == {"changed": [{"id": collateral.pk, "old": {"appraised_value": "150000.00"},
                                                   "new": {"appraised_value": "160000.00"}}]}
    assert payload["guarantors"]["changed"][0]["old"] == {"relationship": "spouse"}


def test_a_row_is_removed_only_when_its_delete_box_is_ticked(login, staff, full_draft, guarantor):
    client = login(staff.mkt)
    form = open_form(client, full_draft)
    data = form.data
    data["guarantors-0-DELETE"] = ["on"]
    assert client.post(edit_url(full_draft), data).status_code == 302
    assert not Guarantor.objects.filter(loan=full_draft).exists()
    assert Collateral.objects.filter(loan=full_draft).count() == 1
    payload = AuditEntry.objects.get(loan=full_draft, action="update").payload
    assert payload["guarantors"]["removed"][0]["customer"] == guarantor.pk
    assert "collaterals" not in payload


def test_a_new_row_is_added_beside_the_kept_ones(login, staff, full_draft):
    client = login(staff.mkt)
    kept = full_draft.collaterals.get()
    data = open_form(client, full_draft).data
    extra = {"kind": "deposit", "description": "定期存单", "owner_name": "张伟", "certificate_no": "",
             "appraised_value": "50000.00", "appraised_on": (today() - timedelta(days=1)).isoformat()}
    data.update({f"collaterals-1-{k}": [v] for k, v in extra.items()})
    assert client.post(edit_url(full_draft), data).status_code == 302
    rows = list(Collateral.objects.filter(loan=full_draft).order_by("pk"))
    assert [r.pk for r in rows][:1] == [kept.pk] and len(rows) == 2 and rows[1].kind == "deposit"


@pytest.mark.sidedoor(rule="22", path="browser: /loans/{id}/edit/ saved after another save")
def test_the_second_of_two_concurrent_browser_edits_is_refused(login, staff, full_draft):
    client = login(staff.mkt)
    first, second = open_form(client, full_draft).data, open_form(client, full_draft).data
    first["amount"] = ["90000.00"]
    assert client.post(edit_url(full_draft), first).status_code == 302
    before = loan_snapshot(full_draft)
    second["collaterals-0-DELETE"] = ["on"]
    response = client.post(edit_url(full_draft), second)
    assert response.status_code == 400
    assert "has changed since you opened it" in response.content.decode()
    assert loan_snapshot(full_draft) == before  # the first edit is not lost, the collateral is still there
    assert refusals() == [("update", full_draft.pk)]


def test_stale_message_is_in_chinese(client, staff, full_draft, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    client.force_login(staff.mkt)
    from django.utils import translation

    with translation.override("zh-hans"):
        data = open_form(client, full_draft).data
        services.loan_update_draft(actor=staff.mkt, loan_id=full_draft.pk, data=_input(full_draft, amount="91000"))
        html = client.post(edit_url(full_draft), data).content.decode()
    assert "在您打开之后已被他人修改" in html


def _input(loan, **overrides):
    loan = Loan.objects.get(pk=loan.pk)
    values = {
        "customer": loan.customer, "product": loan.product, "amount": Decimal(overrides.pop("amount", loan.amount)),
        "term_months": loan.term_months, "repayment_method": loan.repayment_method, "purpose": loan.purpose,
        "purpose_detail": loan.purpose_detail, "interviewed_on": loan.interviewed_on,
        "credit_authorised": loan.credit_authorised,
        "guarantors": [(g.customer, g.relationship, g.pk) for g in loan.guarantors.all()],
        "collaterals": [{"id": c.pk, **{k: getattr(c, k) for k in services.COLLATERAL_FIELDS}}
                        for c in loan.collaterals.all()],
        "documents": list(loan.documents.values_list("code", flat=True)),
    }
    return services.ApplicationInput(**{**values, **overrides})


@pytest.mark.sidedoor(rule="22", path="service: loan_update_draft with a stale version")
def test_the_service_refuses_a_stale_version(staff, full_draft):
    before = loan_snapshot(full_draft)
    with pytest.raises(services.versioning.StaleEdit):
        services.loan_update_draft(actor=staff.mkt, loan_id=full_draft.pk, data=_input(full_draft, amount="1000"),
                                   version=full_draft.version + 5)
    assert loan_snapshot(full_draft) == before
    assert refusals() == [("update", full_draft.pk)]


def test_a_row_of_another_loan_cannot_be_named(staff, product, customer, full_draft):
    other = services.loan_create(actor=staff.mkt, data=_input(full_draft, collaterals=[], guarantors=[]))
    foreign = full_draft.collaterals.get()
    foreign.certificate_no = ""  # so that rule 28 (one certificate, one live loan) does not answer first
    with pytest.raises(services.RuleViolation) as refused:
        services.loan_update_draft(actor=staff.mkt, loan_id=other.pk, data=_input(
            other, collaterals=[{"id": foreign.pk, **{k: getattr(foreign, k) for k in services.COLLATERAL_FIELDS}}]))
    assert refused.value.code == "unknown_row"
    assert Collateral.objects.get(pk=foreign.pk).loan_id == full_draft.pk
    assert LoanDocument.objects.filter(loan=other).count() == 2


def test_the_loan_page_shows_the_edit_old_and_new(login, staff, full_draft):
    client = login(staff.mkt)
    data = open_form(client, full_draft).data
    data["amount"] = ["90000.00"]
    data["documents"].append("guarantor_id")
    client.post(edit_url(full_draft), data)
    html = client.get(reverse("loan-detail", args=[full_draft.pk])).content.decode()
    # In words, with labels (issue 15 part 4): never the codes "amount" or "guarantor_id".
    assert "Amount: 80,000.00 → 90,000.00" in html and "Documents added: Guarantor&#x27;s ID card" in html
