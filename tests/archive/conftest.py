"""Archive fixtures: loans driven through the real services, and helpers that tick and lend."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from applications.models import Status
from archive import services
from archive.models import ChecklistItem, ItemState, LoanFile
from loancenter.lib.dates import today
from postloan.services import loan_settle, outstanding_total, repayment_post
from tests.factories import LoanFactory, SecuredProductFactory, add_collateral

PDFTOTEXT = shutil.which("pdftotext")


@pytest.fixture(autouse=True)
def _english(settings):
    """Messages are asserted in English (the msgids); the Chinese PDF test switches language itself."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def pdf_text(content: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()


@pytest.fixture
def active(flow, draft):
    """An unsecured consumer loan, disbursed: its file holds the contract, the receipt and the vouchers."""
    return flow.advance(draft, Status.ACTIVE)


@pytest.fixture
def secured_active(flow, staff, customer):
    product = SecuredProductFactory(code="housing")
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, amount=Decimal("150000.00"),
                       term_months=120, purpose="house_purchase")
    add_collateral(loan)
    return flow.advance(loan, Status.ACTIVE)


def settle(staff, loan):
    repayment_post(loan_id=loan.pk, actor=staff.gen, amount=outstanding_total(loan), paid_on=today(),
                   reference=f"SETTLE-{loan.pk}")
    loan = loan_settle(loan_id=loan.pk, actor=staff.gen)
    services.checklist_sync(loan=loan, actor=staff.arch)
    return loan


@pytest.fixture
def settled(staff, active):
    return settle(staff, active)


def item(loan, code: str) -> ChecklistItem:
    return ChecklistItem.objects.get(loan_file__loan=loan, code=code)


def tick(staff, it: ChecklistItem, *, copy_kind: str = "original", pages: int = 3, location: str = "") -> ChecklistItem:
    return services.item_receive(item_id=it.pk, actor=staff.arch, copy_kind=copy_kind, pages=pages,
                                 received_on=today(), location=location or ("金库A-01-03" if it.vault else ""))


def tick_all(staff, loan) -> None:
    for it in LoanFile.objects.get(loan=loan).items.filter(state=ItemState.PENDING):
        tick(staff, it, copy_kind="original" if it.original_required else "copy")


def lend_out(staff, it: ChecklistItem, *, requester=None, approver=None, days: int = 7):
    lending = services.lending_request(item_id=it.pk, actor=requester or staff.mkt, purpose="贷后检查",
                                       due_on=today() + timedelta(days=days))
    services.lending_approve(lending_id=lending.pk, actor=approver or staff.arch)
    return services.lending_out(lending_id=lending.pk, actor=staff.arch)
