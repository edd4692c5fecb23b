"""GET /api/reports/portfolio/: the dashboard's figures for an integrating system (manager only)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from applications.models import Status
from tests.postloan.test_batch_life import at


@pytest.fixture
def graded(flow, draft):
    with at(date(2025, 1, 15), hour=10):
        loan = flow.advance(draft, Status.ACTIVE)
    first_due = loan.installments.get(number=1).due_date
    as_of = first_due + timedelta(days=40)
    with at(as_of + timedelta(days=1)):
        call_command("run_nightly_batch", "--as-of", as_of.isoformat(), stdout=open("/dev/null", "w"))  # noqa: SIM115
    loan.refresh_from_db()
    return loan, as_of


def test_manager_reads_the_portfolio_figures(client, staff, graded):
    loan, as_of = graded
    client.force_login(staff.boss)
    body = client.get(f"/api/reports/portfolio/?as_of={as_of.isoformat()}").json()
    assert body["as_of"] == as_of.isoformat()
    assert body["active_loans"] == 1
    assert Decimal(body["outstanding_balance"]) == loan.outstanding_principal
    # The only loan is 40 days overdue: all of the balance is overdue, none of it non-performing yet.
    assert Decimal(body["overdue_rate"]) == Decimal("1")
    assert Decimal(body["npl_rate"]) == Decimal("0")
    t2 = next(t for t in body["by_tier"] if t["tier"] == "T2")
    assert t2["loans"] == 1
    special = next(g for g in body["by_grade"] if g["grade"] == "special_mention")
    assert Decimal(special["provision"]) == (loan.outstanding_principal * Decimal("0.02")).quantize(Decimal("0.01"))
    # Disbursed on 15 January; as-of is in March of the same year.
    assert body["disbursed"]["year"] == {"count": 1, "amount": "100000.00"}
    assert body["disbursed"]["month"] == {"count": 0, "amount": "0.00"}
    assert body["batch"]["status"] == "done"


@pytest.mark.parametrize("who", ["mkt", "rev", "appr", "gen", "arch", "outsider"])
def test_only_the_manager_reads_the_portfolio(client, staff, who):
    client.force_login(getattr(staff, who))
    response = client.get("/api/reports/portfolio/")
    assert response.status_code == 403
    assert response.json()["code"] == "post_required"


def test_bad_date_is_a_400(client, staff):
    client.force_login(staff.boss)
    response = client.get("/api/reports/portfolio/?as_of=yesterday")
    assert response.status_code == 400
