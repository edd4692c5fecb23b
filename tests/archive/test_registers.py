"""Inspection and hand-over registers; the checklist and register PDFs (text as pdftotext extracts it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.authtoken.models import Token

from archive import services
from archive.models import Folder, Handover, Inspection
from loancenter.lib.dates import today
from loancenter.lib.errors import Forbidden, InvalidState, RuleViolation
from loancenter.models import AuditEntry
from loancenter.services import staff_create
from tests.archive.conftest import PDFTOTEXT, item, lend_out, pdf_text, tick
from tests.conftest import PASSWORD

needs_pdftotext = pytest.mark.skipif(PDFTOTEXT is None, reason="poppler-utils (pdftotext) is not installed")


@pytest.fixture
def arch2(staff):
    return staff_create(username="arch2", posts=["archivist"], password=PASSWORD, full_name="档案员乙")


def test_inspection_is_registered(staff, active):
    inspection = services.inspection_record(actor=staff.boss, inspected_on=today(), scope="金库及本季度新开档案",
                                            folders_checked=12, findings="未发现问题")
    assert Inspection.objects.get() == inspection and inspection.inspector == staff.boss
    assert AuditEntry.objects.filter(action="archive_inspection").exists()


def test_inspection_refusals(staff):
    with pytest.raises(RuleViolation, match="findings"):
        services.inspection_record(actor=staff.arch, inspected_on=today(), scope="全部", folders_checked=1, findings="")
    with pytest.raises(RuleViolation, match="future"):
        services.inspection_record(actor=staff.arch, inspected_on=today() + timedelta(days=1), scope="全部",
                                   folders_checked=1, findings="无")
    with pytest.raises(Forbidden):
        services.inspection_record(actor=staff.mkt, inspected_on=today(), scope="全部", folders_checked=1, findings="无")
    assert not Inspection.objects.exists()


def test_handover_between_archivists_moves_the_folders_when_confirmed(staff, arch2, active):
    folder = services.folder_open(customer_id=active.customer_id, actor=staff.arch)
    assert folder.keeper == staff.arch

    handover = services.handover_record(actor=staff.arch, to_user=arch2, handed_on=today(), note="岗位轮换")
    assert list(handover.folders.all()) == [folder]
    folder.refresh_from_db()
    assert folder.keeper == staff.arch  # not before the receiver confirms

    with pytest.raises(Forbidden):
        services.handover_confirm(handover_id=handover.pk, actor=staff.arch)
    services.handover_confirm(handover_id=handover.pk, actor=arch2)

    folder.refresh_from_db()
    assert folder.keeper == arch2
    with pytest.raises(InvalidState):
        services.handover_confirm(handover_id=handover.pk, actor=arch2)


def test_handover_refusals(staff, arch2, active):
    services.folder_open(customer_id=active.customer_id, actor=staff.arch)
    with pytest.raises(RuleViolation, match="another archivist"):
        services.handover_record(actor=staff.arch, to_user=staff.arch, handed_on=today())
    with pytest.raises(RuleViolation, match="not an archivist"):
        services.handover_record(actor=staff.arch, to_user=staff.gen, handed_on=today())
    with pytest.raises(RuleViolation, match="no folders"):
        services.handover_record(actor=arch2, to_user=staff.arch, handed_on=today())
    assert not Handover.objects.exists()


# ---------------------------------------------------------------------------------------------------------------
# PDFs


@needs_pdftotext
def test_checklist_pdf_shows_folder_number_name_and_received_and_missing_marks(client, staff, active):
    tick(staff, item(active, "receipt"), pages=2)
    folder = Folder.objects.get(customer=active.customer)
    client.force_login(staff.arch)

    response = client.get(f"/archive/loans/{active.pk}/checklist.pdf")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert folder.folder_no in text
    assert active.customer.name in text
    receipt_line = next(line for line in text.splitlines() if active.receipt.receipt_no in line)
    assert "✓" in receipt_line and "Original" in receipt_line and today().isoformat() in receipt_line
    application_line = next(line for line in text.splitlines() if "Loan application form" in line)
    assert "✗" in application_line and "missing" in application_line


@needs_pdftotext
def test_checklist_pdf_in_chinese(client, staff, active):
    client.force_login(staff.arch)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    text = pdf_text(client.get(f"/archive/loans/{active.pk}/checklist.pdf").content)
    assert active.customer.name in text and "借据" in text


def test_checklist_pdf_takes_a_token_and_respects_the_data_scope(client, staff, active):
    token = Token.objects.create(user=staff.mkt)
    assert client.get(f"/archive/loans/{active.pk}/checklist.pdf", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200
    client.force_login(staff.mkt2)
    assert client.get(f"/archive/loans/{active.pk}/checklist.pdf").status_code == 404
    client.logout()
    assert client.get(f"/archive/loans/{active.pk}/checklist.pdf").status_code == 302
    assert client.get(f"/archive/loans/{active.pk}/checklist.pdf", HTTP_AUTHORIZATION="Token nope").status_code == 401


def test_checklist_pdf_of_a_loan_not_in_the_archive_is_404(client, staff, draft):
    client.force_login(staff.arch)
    assert client.get(f"/archive/loans/{draft.pk}/checklist.pdf").status_code == 404


@needs_pdftotext
def test_lending_register_pdf_lists_the_period(client, staff, active):
    lending = lend_out(staff, tick(staff, item(active, "loan_application")), requester=staff.rev)
    client.force_login(staff.arch)
    day = today().isoformat()

    text = pdf_text(client.get(f"/archive/lendings/register.pdf?start={day}&end={day}").content)

    assert lending.lending_no in text and active.customer.name in text and "贷后检查" in text
    empty = pdf_text(client.get("/archive/lendings/register.pdf?start=2001-01-01&end=2001-01-31").content)
    assert lending.lending_no not in empty and "No lending in this period" in empty
    client.force_login(staff.mkt)
    assert client.get(f"/archive/lendings/register.pdf?start={day}&end={day}").status_code == 403


@needs_pdftotext
def test_destruction_register_pdf(client, staff, settled):
    import time_machine
    from django.utils import timezone

    it = tick(staff, item(settled, "loan_application"))
    with time_machine.travel(timezone.now() + timedelta(days=365 * 11)):
        destruction = services.destruction_propose(item_id=it.pk, actor=staff.arch, reason="保管期满")
        services.destruction_approve(destruction_id=destruction.pk, actor=staff.boss, witness=staff.gen)
        day = today().isoformat()
        client.force_login(staff.boss)
        text = pdf_text(client.get(f"/archive/destructions/register.pdf?start={day}&end={day}").content)
    assert settled.customer.name in text and "Loan application form" in text and "gen" in text and day in text
