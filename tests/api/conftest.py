"""HTTP clients with token authentication, and a driver that moves a loan along with chosen actors."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from applications.models import Loan
from loancenter.models import AuditEntry
from loancenter.transitions import perform
from tests.conftest import ACTORS, PATH, cosign_if_waiting, payloads
from tests.factories import file_received_papers


@pytest.fixture
def api(staff):
    """``api(user)`` → a client sending ``Authorization: Token …``; ``api(None)`` → anonymous."""

    def client_for(user) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for


def snapshot(loan: Loan) -> tuple[dict, list]:
    """The loan row and its audit trail, to show that a refusal changed neither."""
    row = Loan.objects.filter(pk=loan.pk).values().get()
    trail = list(AuditEntry.objects.filter(loan_id=loan.pk).values_list("id", "action", "from_status", "to_status"))
    return row, trail


def transition_data(staff, loan: Loan, name: str, actor=None) -> dict:
    data = dict(payloads(staff, loan).get(name, {}))
    if name == "complete_investigation" and actor is not None:
        # A two-person product's report names a second investigator, who co-signs it (rule 26).
        second = [u for u in (staff.inv2, staff.inv) if u.pk != actor.pk][:1] if loan.product.dual_investigation else []
        data["investigators"] = [actor.username, *(u.username for u in second)]
    return data


def drive(staff, loan: Loan, to: str, *, acting: dict | None = None) -> Loan:
    """Move ``loan`` (unsecured) along the happy path from where it is to status ``to``; ``acting`` names who
    performs which step.

    Steps of the marketing officer (submit, sign_contract) default to the loan's own officer.
    """
    acting = acting or {}
    for _status, name in PATH:
        loan.refresh_from_db()
        if loan.status == to:
            return loan
        if name == "register_collateral" and not loan.product.secured:
            continue
        if name not in {t.name for t in loan.get_available_status_transitions()}:
            continue  # already past this step
        default = loan.marketing_officer if ACTORS[name] == "mkt" else getattr(staff, ACTORS[name])
        actor = acting.get(name, default)
        if name == "submit":
            file_received_papers(loan)
        perform(name, loan_id=loan.pk, actor=actor, data=transition_data(staff, loan, name, actor))
        if name == "complete_investigation":
            cosign_if_waiting(staff, loan, acting.get("cosign_investigation"))
    loan.refresh_from_db()
    assert loan.status == to, f"could not reach {to}, stuck at {loan.status}"
    return loan
