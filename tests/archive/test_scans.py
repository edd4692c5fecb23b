"""The archive checklist starts from the files received electronically (SPEC §11, issue 17 part 8)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from archive import services
from archive.models import ItemState, LoanFile
from loancenter.lib.errors import InvalidState, RuleViolation
from tests.archive.conftest import item, pdf_text, tick
from tests.factories import add_files


def test_the_checklist_shows_the_scan_and_the_archivist_ticks_the_paper(client, staff, active):
    client.force_login(staff.arch)
    loan_file = LoanFile.objects.get(loan=active)
    html = client.get(reverse("archive:folder-detail", args=[loan_file.folder_id])).content.decode()
    id_card = item(active, "doc:id_card")
    row = html[html.index(f'id="item-{id_card.pk}"'):]
    row = row[:row.index("</tr>")]
    scan = active.files.get(code="id_card")
    # Scan received: the upload's date (the center's, Asia/Shanghai: after 16:00 UTC that is tomorrow's) and uploader,
    # linked to the file; paper: not yet.
    assert timezone.localdate(scan.uploaded_at).isoformat() in row and "mkt" in row
    assert reverse("document-file", args=[scan.pk]) in row and "Missing" in row
    assert f'value="{scan.pages}"' in row  # the tick form takes its pages from the scan
    # The tick form offers only "Original" for an originals-only item.
    authorisation = item(active, "doc:credit_authorization")
    row = html[html.index(f'id="item-{authorisation.pk}"'):]
    assert 'value="copy"' not in row[:row.index("</tr>")]


def test_bulk_receive_ticks_several_originals_at_once_with_pages_from_their_scans(client, staff, active):
    add_files(active, ["credit_authorization"])
    client.force_login(staff.arch)
    loan_file = LoanFile.objects.get(loan=active)
    chosen = [item(active, c) for c in ("doc:id_card", "doc:income_proof", "doc:credit_authorization")]
    response = client.post(reverse("archive:items-receive-bulk", args=[loan_file.pk]),
                           {"items": [i.pk for i in chosen], "copy_kind": "original", "received_on": ""})
    assert response.status_code == 302
    for it in chosen:
        it.refresh_from_db()
        assert (it.state, it.copy_kind, it.pages, it.received_by) == (ItemState.ON_FILE, "original", 1, staff.arch)


def test_bulk_receive_refuses_the_whole_bundle_naming_the_item_it_cannot_tick(staff, active):
    loan_file = LoanFile.objects.get(loan=active)
    without_scan = item(active, "loan_application")  # printed by the system: no upload to take pages from
    ok = item(active, "doc:id_card")
    with pytest.raises(RuleViolation) as refused:
        services.items_receive_bulk(loan_file_id=loan_file.pk, item_ids=[ok.pk, without_scan.pk], actor=staff.arch)
    assert refused.value.code == "no_scan" and without_scan.label in refused.value.message
    ok.refresh_from_db()
    assert ok.state == ItemState.PENDING
    add_files(active, ["credit_authorization"])
    authorisation = item(active, "doc:credit_authorization")
    with pytest.raises(RuleViolation) as copy:
        services.items_receive_bulk(loan_file_id=loan_file.pk, item_ids=[ok.pk, authorisation.pk], actor=staff.arch,
                                    copy_kind="copy")
    assert copy.value.code == "original_required" and authorisation.label in copy.value.message
    ok.refresh_from_db()
    assert ok.state == ItemState.PENDING
    tick(staff, ok)
    with pytest.raises(InvalidState):
        services.items_receive_bulk(loan_file_id=loan_file.pk, item_ids=[ok.pk], actor=staff.arch)


def test_the_printed_checklist_shows_scan_and_paper_columns(client, staff, active):
    tick(staff, item(active, "doc:id_card"))
    client.force_login(staff.arch)
    text = pdf_text(client.get(reverse("archive:checklist-pdf", args=[active.pk])).content)
    assert "Scan received" in text and "Original/" in text  # both columns (the header wraps)
    id_line = next(line for line in text.splitlines() if "ID card" in line)
    scan = active.files.get(code="id_card")
    assert timezone.localdate(scan.uploaded_at).isoformat() in id_line and "Original" in id_line
