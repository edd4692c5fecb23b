"""The LPR publication register (SPEC §15, §16.31–32; issue 19 part 4): in force only once a second person confirms
it; the filer's own confirmation is refused and recorded; approvals of LPR-linked loans read what is in force."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from applications.lpr.models import LprPublication
from applications.lpr.selectors import lpr_in_force
from applications.models import Loan, Status
from loancenter.models import AuditEntry, RefusedAttempt
from tests.api.conftest import drive
from tests.factories import LoanFactory, ProductFactory
from tests.postloan.test_batch_life import at

TODAY = date(2026, 6, 22)


@pytest.fixture(autouse=True)
def _today():
    with at(TODAY, hour=10):
        yield


def file(api, user, published_on="2026-06-22", one="0.0300", five="0.0350"):
    return api(user).post("/api/lpr/", {"published_on": published_on, "lpr_1y": one, "lpr_5y": five}, format="json")


@pytest.mark.sidedoor(rule="lpr", path="api: POST /api/lpr/{id}/confirm/")
def test_a_publication_is_in_force_only_once_a_second_person_confirms_it(api, staff):
    response = file(api, staff.gen)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["in_force"] is False
    assert lpr_in_force(TODAY) is None

    refused = api(staff.gen).post(f"/api/lpr/{body['id']}/confirm/")  # the filer himself

    assert refused.status_code == 403 and refused.json()["code"] == "separation_of_duty"
    assert LprPublication.objects.get().status == "pending" and lpr_in_force(TODAY) is None
    attempt = RefusedAttempt.objects.latest("id")
    assert (attempt.action, attempt.code, attempt.actor_id) == ("lpr_confirm", "separation_of_duty", staff.gen.pk)

    confirmed = api(staff.boss).post(f"/api/lpr/{body['id']}/confirm/")

    assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["status"] == "confirmed" and confirmed.json()["decided_by"] == "boss"
    assert lpr_in_force(TODAY).lpr_5y == Decimal("0.035")
    history = api(staff.mkt).get("/api/lpr/").json()  # every post reads the history
    assert [(p["published_on"], p["lpr_1y"], p["lpr_5y"], p["in_force"]) for p in history] == [
        ("2026-06-22", "0.03", "0.035", True)]
    assert AuditEntry.objects.filter(action__in=["lpr_file", "lpr_confirm"]).count() == 2


def test_only_general_and_manager_file_or_confirm(api, staff):
    assert file(api, staff.mkt).status_code == 403
    publication = file(api, staff.gen).json()
    assert api(staff.appr).post(f"/api/lpr/{publication['id']}/confirm/").status_code == 403
    assert LprPublication.objects.get().status == "pending"


def test_a_rejected_publication_never_takes_effect_and_the_date_can_be_filed_again(api, staff):
    typo = file(api, staff.gen, five="0.3500")
    assert typo.status_code == 400 and typo.json()["code"] == "lpr_rate"  # 35 %: refused as a typo outright
    first = file(api, staff.gen, five="0.0530").json()
    assert api(staff.boss).post(f"/api/lpr/{first['id']}/reject/").status_code == 200
    assert lpr_in_force(TODAY) is None
    again = file(api, staff.boss, five="0.0350")
    assert again.status_code == 201
    assert file(api, staff.gen).json()["code"] == "lpr_exists"  # one pending per date


@pytest.mark.sidedoor(rule="lpr", path="browser: POST /lpr/{id}/confirm/ (the filer)")
def test_the_register_page_files_and_a_second_person_confirms(client, staff):
    client.force_login(staff.gen)
    page = client.get(reverse("lpr-register"))
    assert page.status_code == 200 and 'data-testid="lpr-form"' in page.content.decode()
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(published_on="2026-06-22", lpr_1y="3.00", lpr_5y="3.50")  # pages take percentages

    response = client.post(reverse("lpr-register"), data)

    assert response.status_code == 302
    publication = LprPublication.objects.get()
    assert (publication.lpr_1y, publication.lpr_5y, publication.status) == (Decimal("0.03"), Decimal("0.035"), "pending")
    html = client.get(reverse("lpr-register")).content.decode()
    assert f'data-testid="lpr-confirm-{publication.pk}"' not in html and "Another person confirms it." in html
    client.post(reverse("lpr-action", args=[publication.pk, "confirm"]))  # the filer tries anyway
    assert LprPublication.objects.get().status == "pending"
    assert RefusedAttempt.objects.latest("id").code == "separation_of_duty"

    client.force_login(staff.boss)
    html = client.get(reverse("lpr-register")).content.decode()
    assert f'data-testid="lpr-confirm-{publication.pk}"' in html
    client.post(reverse("lpr-action", args=[publication.pk, "confirm"]))
    assert LprPublication.objects.get().status == "confirmed"
    assert 'data-testid="lpr-in-force"' in (html := client.get(reverse("lpr-register")).content.decode())
    assert "2026-06-22" in html


# --- approvals of LPR-linked loans read the publication in force (SPEC §16.31)


@pytest.fixture
def lpr_loan(staff, customer):
    product = ProductFactory(code="lpr1y", rate_type="lpr_1y")
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
    return drive(staff, loan, Status.UNDER_REVIEW)


def review(api, staff, loan: Loan, **terms):
    data = {"opinion": "合规", "amount": str(loan.amount), "term_months": loan.term_months,
            "repayment_method": loan.repayment_method, **terms}
    return api(staff.rev).post(f"/api/loans/{loan.pk}/transitions/pass_review/", data, format="json")


def test_an_lpr_loan_cannot_be_priced_on_a_publication_not_yet_confirmed(api, staff, lpr_loan):
    file(api, staff.gen)
    response = review(api, staff, lpr_loan, spread_bp=50)
    assert response.status_code == 400 and response.json()["code"] == "no_lpr"
    assert Loan.objects.get(pk=lpr_loan.pk).status == Status.UNDER_REVIEW


def test_the_rate_is_the_lpr_in_force_plus_the_spread(api, staff, lpr_loan):
    publication = file(api, staff.gen).json()
    api(staff.boss).post(f"/api/lpr/{publication['id']}/confirm/")

    assert review(api, staff, lpr_loan).json()["code"] == "spread_required"
    mismatch = review(api, staff, lpr_loan, spread_bp=50, annual_rate="0.0400")
    assert mismatch.status_code == 400 and mismatch.json()["code"] == "rate_mismatch"
    assert review(api, staff, lpr_loan, spread_bp=50, annual_rate="0.0350").status_code == 200
    loan = Loan.objects.get(pk=lpr_loan.pk)
    assert (loan.proposed_rate, loan.proposed_spread_bp) == (Decimal("0.035"), 50)


def test_a_fixed_rate_product_takes_no_spread(api, staff, draft):
    loan = drive(staff, draft, Status.UNDER_REVIEW)
    response = review(api, staff, loan, spread_bp=50, annual_rate="0.0435")
    assert response.status_code == 400 and response.json()["code"] == "spread_not_applicable"
    assert review(api, staff, loan).json()["code"] == "annual_rate"


def rendered(rows) -> dict:
    """What the browser sends back from the transition page as rendered: each field's value, a select's chosen one."""
    data = {}
    for row in rows:
        if row.get("options"):
            chosen = [o[0] for o in row["options"] if o[2]]
            if chosen:
                data[row["name"]] = chosen[0]
        elif row.get("value") not in (None, "", "None"):
            data[row["name"]] = row["value"]
    return data


def test_the_approval_page_takes_the_spread_the_review_proposed(api, client, staff, lpr_loan):
    publication = file(api, staff.gen).json()
    api(staff.boss).post(f"/api/lpr/{publication['id']}/confirm/")
    assert review(api, staff, lpr_loan, spread_bp=15).status_code == 200
    client.force_login(staff.appr)
    page = client.get(reverse("loan-transition", args=[lpr_loan.pk, "approve"]))
    rows = {r["name"]: r for r in page.context["rows"]}
    assert str(rows["spread_bp"]["value"]) == "15" and rows["annual_rate"]["value"] in (None, "", "None")

    response = client.post(reverse("loan-transition", args=[lpr_loan.pk, "approve"]),
                           {**rendered(page.context["rows"]), "reason": "同意"})

    assert response.status_code == 302, page.context
    loan = Loan.objects.get(pk=lpr_loan.pk)
    assert (loan.status, loan.annual_rate, loan.spread_bp, loan.lpr_at_approval, loan.lpr_published_on) == (
        Status.APPROVED, Decimal("0.0315"), 15, Decimal("0.03"), TODAY)


def test_a_product_is_priced_on_the_lpr_through_the_api(api, staff):
    body = {"code": "house5", "name": "住房贷款", "category": "housing", "min_amount": "10000.00",
            "max_amount": "3000000.00", "min_term_months": 12, "max_term_months": 360,
            "repayment_methods": ["equal_installment"], "min_rate": "0.02", "max_rate": "0.08", "secured": False,
            "max_dti": "0.5", "rate_type": "lpr_5y"}
    response = api(staff.gen).post("/api/products/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["rate_type"] == "lpr_5y"
    without = api(staff.gen).post("/api/products/", {**body, "code": "plain"} | {"rate_type": None}, format="json")
    assert without.status_code == 400  # null is no rate type; leaving it out is "fixed"
    body.pop("rate_type")
    assert api(staff.gen).post("/api/products/", {**body, "code": "plain"}, format="json").json()["rate_type"] == "fixed"
