"""The rate grid and its overrides (SPEC §15, §16.30): a proposal or an approval outside the loan's row needs an
``override_reason`` (400 ``outside_rate_grid`` without one, nothing changed, the refusal recorded); with one it is
recorded as an override, listed per approver."""

from __future__ import annotations

from decimal import Decimal

import pytest

from applications.models import RateOverride, Status
from loancenter.models import RefusedAttempt
from tests.api.conftest import drive, snapshot
from tests.conftest import payloads


def _grid_for_rating(api, staff, product, rating, **row):
    body = {"rate_grid": [{"rating": rating, "min_rate": "0.0500", "max_rate": "0.0800", "max_amount": "80000.00",
                           **row}]}
    response = api(staff.gen).patch(f"/api/products/{product.pk}/", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["rate_grid"]


def test_products_take_and_show_a_rate_grid(api, staff, product):
    rows = _grid_for_rating(api, staff, product, "B", min_spread_bp=-20, max_spread_bp=60)

    assert rows == [{"rating": "B", "min_rate": "0.05", "max_rate": "0.08", "min_spread_bp": -20,
                     "max_spread_bp": 60, "max_amount": "80000.00"}]
    bad = api(staff.gen).patch(f"/api/products/{product.pk}/", {"rate_grid": [
        {"rating": "A", "min_rate": "0.09", "max_rate": "0.05"}]}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "rate_grid"
    assert api(staff.gen).get(f"/api/products/{product.pk}/").json()["rate_grid"] == rows


@pytest.mark.sidedoor(rule="pricing", path="api: approve below the rate grid without an override reason")
def test_an_approval_below_the_grid_without_a_reason_is_refused_and_with_one_recorded(api, staff, draft):
    loan = drive(staff, draft, Status.PENDING_APPROVAL)
    _grid_for_rating(api, staff, loan.product, loan.rating, max_amount=None)
    data = {**payloads(staff, loan)["approve"], "annual_rate": "0.0435"}  # below the row's 5 %
    before = snapshot(loan)

    refused = api(staff.appr).post(f"/api/loans/{loan.pk}/transitions/approve/", data, format="json")

    assert refused.status_code == 400
    assert refused.json()["code"] == "outside_rate_grid"
    assert "4.35% below the grid's 5.00%" in refused.json()["detail"]
    assert snapshot(loan) == before
    assert not RateOverride.objects.exists()
    assert RefusedAttempt.objects.filter(action="approve", loan_id_ref=loan.pk, code="outside_rate_grid").exists()

    data["override_reason"] = "优质代发工资客户,总行优惠利率政策"
    accepted = api(staff.appr).post(f"/api/loans/{loan.pk}/transitions/approve/", data, format="json")

    assert accepted.status_code == 200, accepted.json()
    loan.refresh_from_db()
    assert loan.status == Status.APPROVED and loan.annual_rate == Decimal("0.0435")
    [override] = RateOverride.objects.filter(loan=loan)
    assert (override.step, override.actor, override.reason) == ("approve", staff.appr, data["override_reason"])
    assert [d["code"] for d in override.deviations] == ["rate_below"]


def test_a_review_proposal_above_the_grid_amount_needs_a_reason_too(api, staff, draft):
    loan = drive(staff, draft, Status.UNDER_REVIEW)
    _grid_for_rating(api, staff, loan.product, loan.rating, min_rate=None, max_rate=None)  # at most 80,000
    data = payloads(staff, loan)["pass_review"]  # 100,000

    refused = api(staff.rev).post(f"/api/loans/{loan.pk}/transitions/pass_review/", data, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "outside_rate_grid"

    ok = api(staff.rev).post(f"/api/loans/{loan.pk}/transitions/pass_review/",
                             {**data, "override_reason": "抵押物充足"}, format="json")
    assert ok.status_code == 200
    assert RateOverride.objects.get(loan=loan).deviations[0]["code"] == "amount_above"


def test_inside_the_grid_or_without_one_nothing_is_needed(api, staff, draft):
    loan = drive(staff, draft, Status.PENDING_APPROVAL)  # no grid: any rate of the product, no override
    _grid_for_rating(api, staff, loan.product, "A" if loan.rating != "A" else "B")  # a row for another rating
    response = api(staff.appr).post(f"/api/loans/{loan.pk}/transitions/approve/", payloads(staff, loan)["approve"],
                                    format="json")
    assert response.status_code == 200
    assert not RateOverride.objects.exists()


def test_approving_an_e_with_a_grid_is_an_override(api, staff, draft):
    draft.customer.monthly_income = Decimal("2900.00")  # low income, DTI near 46 %, nothing else known
    draft.customer.save()
    draft.amount = Decimal("10000.00")
    draft.save()
    loan = drive(staff, draft, Status.PENDING_APPROVAL)
    assert loan.rating == "E"
    _grid_for_rating(api, staff, loan.product, "A")
    data = payloads(staff, loan)["approve"]

    refused = api(staff.appr).post(f"/api/loans/{loan.pk}/transitions/approve/", data, format="json")

    assert refused.status_code == 400 and "rating E" in refused.json()["detail"]


def test_the_override_page_lists_overrides_per_approver(api, client, staff, draft):
    loan = drive(staff, draft, Status.PENDING_APPROVAL)
    _grid_for_rating(api, staff, loan.product, loan.rating, max_amount=None)
    api(staff.appr).post(f"/api/loans/{loan.pk}/transitions/approve/",
                         {**payloads(staff, loan)["approve"], "override_reason": "总行优惠利率"}, format="json")
    client.force_login(staff.boss)

    page = client.get("/reports/overrides/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "appr" in text and "总行优惠利率" in text and "100.00%" in text
    client.force_login(staff.mkt)
    assert client.get("/reports/overrides/").status_code == 403


def _rendered(page) -> dict:
    """The values the form shows, as a browser would post them back."""
    import re

    html = page.content.decode()
    data = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            data[name.group(1)] = value.group(1) if value else ""
    return data


def test_the_browser_grid_takes_percentages_and_an_unchanged_save_changes_nothing(client, staff, product):
    from applications.models import Product
    from loancenter.models import AuditEntry

    client.force_login(staff.gen)
    data = _rendered(client.get(f"/products/{product.pk}/rate-grid/"))
    data.update({"B-min_rate": "5.5", "B-max_rate": "7.25", "B-max_amount": "300000"})

    assert client.post(f"/products/{product.pk}/rate-grid/", data).status_code == 302
    [row] = product.rate_grid.all()
    assert (row.rating, row.min_rate, row.max_rate, row.max_amount) == ("B", Decimal("0.055"), Decimal("0.0725"),
                                                                         Decimal("300000.00"))
    version, audits = Product.objects.get(pk=product.pk).version, AuditEntry.objects.count()

    again = _rendered(client.get(f"/products/{product.pk}/rate-grid/"))
    assert again["B-min_rate"] == "5.5" and again["B-max_rate"] == "7.25"
    assert client.post(f"/products/{product.pk}/rate-grid/", again).status_code == 302
    assert Product.objects.get(pk=product.pk).version == version and AuditEntry.objects.count() == audits

    client.force_login(staff.rev)
    assert client.get(f"/products/{product.pk}/rate-grid/").status_code == 403
