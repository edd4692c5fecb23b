"""Each PDF renders, and its text (as pdftotext extracts it) carries the customer's name and the contract number."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.authtoken.models import Token

from applications.models import Status

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")


def pdf_text(content: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()


@pytest.fixture
def active_loan(flow, draft):
    return flow.advance(draft, Status.ACTIVE)


@pytest.mark.parametrize("name", ["receipt", "approval", "investigation"])
def test_pdf_shows_customer_name_and_contract_number(client, staff, active_loan, name):
    client.force_login(staff.rev)
    response = client.get(f"/loans/{active_loan.pk}/{name}.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert active_loan.customer.name in text
    assert active_loan.contracts.get(kind="loan").contract_no in text


def test_receipt_carries_dates_rate_stamp_and_amount_in_words(client, staff, active_loan):
    client.force_login(staff.disb)
    text = pdf_text(client.get(f"/loans/{active_loan.pk}/receipt.pdf").content)
    receipt = active_loan.receipt
    assert receipt.value_date.isoformat() in text
    assert receipt.maturity_date.isoformat() in text
    assert "4.35%" in text
    assert "壹拾万元整" in text  # 100,000.00


def test_pdf_accepts_an_api_token(client, staff, active_loan):
    token = Token.objects.create(user=staff.rev)
    response = client.get(f"/loans/{active_loan.pk}/receipt.pdf", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200


def test_pdf_outside_data_scope_is_404_and_anonymous_is_refused(client, staff, active_loan):
    client.force_login(staff.mkt2)  # another marketing officer's loan
    assert client.get(f"/loans/{active_loan.pk}/receipt.pdf").status_code == 404
    client.logout()
    assert client.get(f"/loans/{active_loan.pk}/receipt.pdf").status_code == 302
    assert client.get(f"/loans/{active_loan.pk}/receipt.pdf", HTTP_AUTHORIZATION="Token nope").status_code == 401


def test_receipt_before_it_is_prepared_is_409_with_the_reason(client, staff, flow, draft):
    loan = flow.advance(draft, Status.CONTRACT_SIGNED)
    client.force_login(staff.rev)
    response = client.get(f"/loans/{loan.pk}/receipt.pdf")
    assert response.status_code == 409  # the loan exists, its receipt not yet (tests/disbursement/test_papers.py)
    assert "receipt" in response.content.decode()


@pytest.mark.sidedoor(rule="auth", path="browser: GET /loans/{id}/receipt.pdf with an expired token")
def test_pdf_refuses_an_expired_api_token(client, staff, active_loan):
    token = Token.objects.create(user=staff.rev)
    expired = timezone.now() + timedelta(hours=8, seconds=1)  # API_TOKEN_HOURS' default
    with time_machine.travel(expired, tick=False):
        response = client.get(f"/loans/{active_loan.pk}/receipt.pdf", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 401
    assert response["Content-Type"] != "application/pdf"
