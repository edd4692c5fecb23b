"""Folders per customer, checklists generated per loan, ticking what arrived, the vault, closing a file."""

from __future__ import annotations

import pytest

from applications.models import Status
from archive import services
from archive.models import ChecklistItem, Folder, ItemState, LoanFile
from loancenter.lib.dates import today
from loancenter.lib.errors import Forbidden, InvalidState, RuleViolation
from loancenter.models import AuditEntry, RefusedAttempt
from tests.archive.conftest import item, lend_out, settle, tick, tick_all
from tests.factories import LoanFactory


def test_approval_opens_the_customers_folder_with_the_loans_checklist(flow, draft):
    loan = flow.advance(draft, Status.PENDING_APPROVAL)
    assert not LoanFile.objects.filter(loan=loan).exists()

    loan = flow.advance(loan, Status.APPROVED)

    folder = Folder.objects.get(customer=loan.customer)
    assert folder.folder_no == f"DA-{folder.pk:06d}"
    codes = set(LoanFile.objects.get(loan=loan).items.values_list("code", flat=True))
    # The template, the product's required documents, and the investigation/approval papers.
    assert {"loan_application", "interview_record", "doc:id_card", "doc:income_proof", "doc:credit_authorization",
            "investigation_report", "approval_form"} <= codes
    assert not any(code.endswith("_contract") or code == "receipt" for code in codes)  # not signed yet


def test_contracts_receipt_and_vouchers_join_the_checklist_as_the_loan_moves_on(active):
    codes = set(LoanFile.objects.get(loan=active).items.values_list("code", flat=True))
    contract = active.contracts.get(kind="loan")
    assert f"loan_contract:{contract.contract_no}" in codes
    assert {"receipt", "disbursement_voucher", "post_loan_check"} <= codes
    receipt_item = item(active, "receipt")
    assert receipt_item.section == "legal" and receipt_item.original_required
    assert active.receipt.receipt_no in receipt_item.label


def test_secured_loan_checklist_holds_the_mortgage_contract_and_the_certificate_for_the_vault(secured_active):
    items = {i.code: i for i in LoanFile.objects.get(loan=secured_active).items.all()}
    certificate = items["certificate"]
    assert certificate.vault and certificate.reference == secured_active.collateral_registration.certificate_no
    assert items["insurance_policy"].vault  # housing loan: 保单
    assert any(code.startswith("mortgage_contract:") for code in items)


def test_one_folder_per_customer_for_all_their_loans(flow, staff, product, customer, active):
    second = flow.advance(LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt), Status.APPROVED)
    assert Folder.objects.filter(customer=customer).count() == 1
    assert set(Folder.objects.get(customer=customer).loan_files.values_list("loan_id", flat=True)) == {active.pk, second.pk}


def test_sync_is_idempotent_and_keeps_ticks(staff, active):
    before = ChecklistItem.objects.filter(loan_file__loan=active).count()
    tick(staff, item(active, "receipt"))

    services.checklist_sync(loan=active, actor=staff.arch)
    services.checklist_sync(loan=active, actor=staff.arch)

    assert ChecklistItem.objects.filter(loan_file__loan=active).count() == before
    assert item(active, "receipt").state == ItemState.ON_FILE


def test_archivist_ticks_an_item_with_copy_pages_date_and_receiver(staff, active):
    it = item(active, "receipt")

    services.item_receive(item_id=it.pk, actor=staff.arch, copy_kind="original", pages=2, received_on=today())

    it.refresh_from_db()
    assert (it.state, it.copy_kind, it.pages, it.received_on, it.received_by) == (
        ItemState.ON_FILE, "original", 2, today(), staff.arch)
    entry = AuditEntry.objects.get(action="archive_item_receive", object_id=str(it.pk))
    assert entry.actor == staff.arch and entry.loan == active and entry.payload["pages"] == 2


@pytest.mark.parametrize("persona", ["mkt", "rev", "boss", "outsider"])
def test_only_the_archivist_ticks(staff, active, persona):
    it = item(active, "receipt")
    with pytest.raises(Forbidden):
        services.item_receive(item_id=it.pk, actor=getattr(staff, persona), copy_kind="original", pages=2)
    it.refresh_from_db()
    assert it.state == ItemState.PENDING


def test_vault_item_without_location_is_refused_and_nothing_is_written(staff, secured_active):
    certificate = item(secured_active, "certificate")
    audit_before = AuditEntry.objects.count()

    with pytest.raises(RuleViolation) as refused:
        services.item_receive(item_id=certificate.pk, actor=staff.arch, copy_kind="original", pages=1, location="  ")

    assert refused.value.code == "vault_location_required"
    assert "location" in refused.value.message
    certificate.refresh_from_db()
    assert certificate.state == ItemState.PENDING and certificate.location == ""
    assert AuditEntry.objects.count() == audit_before
    assert RefusedAttempt.objects.filter(action="archive_item_receive", code="vault_location_required",
                                         loan_id_ref=secured_active.pk).exists()


def test_vault_item_goes_in_with_its_location_and_cannot_be_unticked(staff, secured_active):
    certificate = tick(staff, item(secured_active, "certificate"), location="金库B-02-07")
    assert certificate.location == "金库B-02-07"
    with pytest.raises(InvalidState, match="leaves only through an approved lending-out"):
        services.item_unreceive(item_id=certificate.pk, actor=staff.arch, reason="误点")
    certificate.refresh_from_db()
    assert certificate.state == ItemState.ON_FILE


def test_received_date_in_the_future_is_refused(staff, active):
    from datetime import timedelta

    it = item(active, "receipt")
    with pytest.raises(RuleViolation, match="future"):
        services.item_receive(item_id=it.pk, actor=staff.arch, copy_kind="original", pages=1,
                              received_on=today() + timedelta(days=1))


def test_settled_loan_file_completes_when_every_original_is_in(staff, settled):
    tick_all(staff, settled)
    loan_file = LoanFile.objects.get(loan=settled)

    services.loan_file_complete(loan_file_id=loan_file.pk, actor=staff.arch)

    loan_file.refresh_from_db()
    assert loan_file.completed_at is not None and loan_file.completed_by == staff.arch
    assert AuditEntry.objects.filter(action="archive_file_complete", loan=settled).exists()


def test_file_not_complete_while_an_original_is_missing(staff, settled):
    tick_all(staff, settled)
    services.item_unreceive(item_id=item(settled, "receipt").pk, actor=staff.arch, reason="原件未到")
    loan_file = LoanFile.objects.get(loan=settled)

    with pytest.raises(RuleViolation, match="Not yet received") as refused:
        services.loan_file_complete(loan_file_id=loan_file.pk, actor=staff.arch)

    assert "receipt" in refused.value.message.lower()
    loan_file.refresh_from_db()
    assert loan_file.completed_at is None


def test_a_copy_cannot_tick_an_item_that_needs_the_original(staff, settled):
    """Issue 17 part 8: a photocopy used to get a green tick on an originals-only item."""
    receipt = item(settled, "receipt")
    with pytest.raises(RuleViolation) as refused:
        tick(staff, receipt, copy_kind="copy")
    assert refused.value.code == "original_required" and "needs the paper original" in refused.value.message
    receipt.refresh_from_db()
    assert receipt.state == "pending" and receipt.copy_kind == ""
    assert tick(staff, item(settled, "credit_report"), copy_kind="copy").state == "on_file"  # a copy is enough there


def test_file_not_complete_while_a_document_is_lent_out(staff, settled):
    tick_all(staff, settled)
    lend_out(staff, item(settled, "loan_application"))
    with pytest.raises(RuleViolation) as refused:
        services.loan_file_complete(loan_file_id=LoanFile.objects.get(loan=settled).pk, actor=staff.arch)
    assert refused.value.code == "file_lent_out"


def test_active_loan_file_cannot_be_completed(staff, active):
    tick_all(staff, active)
    with pytest.raises(InvalidState, match="settled"):
        services.loan_file_complete(loan_file_id=LoanFile.objects.get(loan=active).pk, actor=staff.arch)


def test_settlement_adds_the_settlement_papers(staff, active):
    loan = settle(staff, active)
    codes = set(LoanFile.objects.get(loan=loan).items.values_list("code", flat=True))
    assert {"settlement_certificate", "repayment_vouchers"} <= codes


def test_archivist_opens_a_folder_for_a_customer(staff, customer):
    folder = services.folder_open(customer_id=customer.pk, actor=staff.arch)
    assert folder.folder_no.startswith("DA-") and folder.keeper == staff.arch
    again = services.folder_open(customer_id=customer.pk, actor=staff.arch)
    assert again.pk == folder.pk
    with pytest.raises(Forbidden):
        services.folder_open(customer_id=customer.pk, actor=staff.mkt)
