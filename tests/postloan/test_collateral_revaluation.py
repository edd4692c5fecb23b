"""Collateral revaluation (SPEC §12, issue 18 part 3): a record with date, value, valuer and the valuation report as a
file; a value that puts the loan-to-value above the product's limit raises the collateral_value_drop signal, once."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from applications.models import Status
from loancenter.lib.errors import DomainError
from loancenter.models import RefusedAttempt
from postloan.collateral import collateral_revalue
from postloan.models import CollateralRevaluation, Signal
from tests.documents.support import pdf, upload
from tests.factories import CustomerFactory, LoanFactory, SecuredProductFactory, add_collateral

SH = ZoneInfo("Asia/Shanghai")
DISBURSED = date(2025, 1, 15)


def at(day: date, hour: int = 10):
    return time_machine.travel(datetime.combine(day, time(hour), tzinfo=SH), tick=False)


@pytest.fixture
def secured(staff, flow):
    """100,000 lent against a property appraised at 1,000,000; the product's LTV limit is 70 %."""
    product = SecuredProductFactory()
    loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
    with at(DISBURSED):
        add_collateral(loan)
        loan = flow.advance(loan, Status.ACTIVE)
    return loan


@pytest.mark.sidedoor(rule="12-collections", path="service: collateral_revalue without a valuation report")
def test_a_revaluation_needs_its_valuation_report(staff, secured):
    collateral = secured.collaterals.get()
    with at(date(2025, 6, 1)), pytest.raises(DomainError) as caught:
        collateral_revalue(collateral_id=collateral.pk, actor=staff.mkt, value=Decimal("100000.00"),
                           valued_on=date(2025, 5, 30), valuer="某某评估公司", document_id=None)
    assert caught.value.code == "document_required"
    assert not CollateralRevaluation.objects.exists() and not Signal.objects.filter(loan=secured).exists()
    assert RefusedAttempt.objects.filter(action="collateral_revalue", loan_id_ref=secured.pk).exists()


def test_a_value_below_the_ltv_limit_raises_the_signal_once(staff, api, secured):
    collateral = secured.collaterals.get()
    client = api(staff.mkt)
    url = f"/api/collaterals/{collateral.pk}/revaluations/"
    with at(date(2025, 6, 1)):
        report = upload(client, secured, "collateral_valuation", pdf("valuation.pdf")).json()["id"]
        fine = client.post(url, {"value": "800000.00", "valued_on": "2025-05-30", "valuer": "某某评估公司",
                                 "document": report}, format="json")
        assert fine.status_code == 201, fine.content
        assert fine.json()["signal"] is None and Decimal(fine.json()["ltv"]) < Decimal("0.7")
        # The property market fell: 100,000 outstanding against 130,000 is 77 % > 70 %.
        low = client.post(url, {"value": "130000.00", "valued_on": "2025-05-31", "valuer": "某某评估公司",
                                "document": report}, format="json")
        lower = client.post(url, {"value": "120000.00", "valued_on": "2025-06-01", "valuer": "另一评估公司",
                                  "document": report}, format="json")
    assert low.status_code == 201 and lower.status_code == 201
    secured.refresh_from_db()
    expected = (secured.outstanding_principal / Decimal("130000.00")).quantize(Decimal("0.0001"))
    assert Decimal(low.json()["ltv"]) == expected > Decimal("0.7000")
    signal = Signal.objects.get(loan=secured, code="collateral_value_drop")
    assert low.json()["signal"] == lower.json()["signal"] == signal.pk and signal.status == "open"
    listed = client.get(url).json()
    assert [r["value"] for r in listed] == ["120000.00", "130000.00", "800000.00"]


def test_revaluation_form_and_loan_page(staff, client, secured):
    collateral = secured.collaterals.get()
    report = secured.files.first()  # any live file of the loan is offered
    client.force_login(staff.mkt)
    with at(date(2025, 6, 1)):
        page = client.get(f"/postloan/collaterals/{collateral.pk}/revalue/")
        row = next(r for r in page.context["rows"] if r["name"] == "document")
        assert str(report.pk) in [o[0] for o in row["options"]]
        done = client.post(f"/postloan/collaterals/{collateral.pk}/revalue/", {
            "value": "100000.00", "valued_on": "2025-05-30", "valuer": "某某评估公司", "document": str(report.pk)})
        assert done.status_code == 302
        shown = client.get(f"/postloan/loans/{secured.pk}/").content.decode()
        assert client.get(f"/postloan/collaterals/{collateral.pk}/revalue/").status_code == 200
        client.force_login(staff.mkt2)  # not their loan: outside the scope
        assert client.get(f"/postloan/collaterals/{collateral.pk}/revalue/").status_code == 404
    revaluation = CollateralRevaluation.objects.get()
    assert revaluation.signal is not None and revaluation.document == report
    assert 'data-testid="revaluations"' in shown and "某某评估公司" in shown
