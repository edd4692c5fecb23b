"""Lending-out (调阅): anyone asks, someone else approves, the archivist hands out and takes back."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from archive import services
from archive.models import ItemState, Lending
from archive.selectors import overdue_lendings
from loancenter.lib.dates import today
from loancenter.lib.errors import Forbidden, InvalidState, RuleViolation, SeparationOfDuty
from loancenter.models import AuditEntry, RefusedAttempt
from tests.archive.conftest import item, lend_out, tick


@pytest.fixture
def on_file(staff, active):
    return tick(staff, item(active, "loan_application"))


def request(staff, it, who=None, days=7):
    return services.lending_request(item_id=it.pk, actor=who or staff.mkt, purpose="贷后检查核对原件",
                                    due_on=today() + timedelta(days=days))


def test_request_approve_out_and_return(staff, on_file):
    lending = request(staff, on_file)
    assert lending.status == Lending.REQUESTED and lending.lending_no.startswith("DY-")

    services.lending_approve(lending_id=lending.pk, actor=staff.arch, note="同意")
    services.lending_out(lending_id=lending.pk, actor=staff.arch)
    on_file.refresh_from_db()
    assert on_file.state == ItemState.OUT

    services.lending_return(lending_id=lending.pk, actor=staff.arch, note="完好")

    lending.refresh_from_db()
    on_file.refresh_from_db()
    assert lending.status == Lending.RETURNED and lending.decided_by == staff.arch
    assert lending.out_by == staff.arch and lending.returned_by == staff.arch and lending.return_note == "完好"
    assert on_file.state == ItemState.ON_FILE
    actions = list(AuditEntry.objects.filter(object_type="archive.lending", object_id=str(lending.pk))
                   .values_list("action", flat=True))
    assert actions == ["archive_lending_request", "archive_lending_approve", "archive_lending_out",
                       "archive_lending_return"]


def test_requester_cannot_approve_their_own_request_and_the_refusal_is_recorded(staff, on_file):
    lending = request(staff, on_file, who=staff.arch)

    with pytest.raises(SeparationOfDuty) as refused:
        services.lending_approve(lending_id=lending.pk, actor=staff.arch)

    assert refused.value.status == 403 and refused.value.code == "separation_of_duty"
    lending.refresh_from_db()
    assert lending.status == Lending.REQUESTED and lending.decided_by is None
    assert not AuditEntry.objects.filter(action="archive_lending_approve").exists()
    assert RefusedAttempt.objects.get(action="archive_lending_approve").code == "separation_of_duty"
    # Someone else may.
    services.lending_approve(lending_id=lending.pk, actor=staff.boss)
    lending.refresh_from_db()
    assert lending.status == Lending.APPROVED and lending.decided_by == staff.boss


def test_requester_cannot_refuse_their_own_request_either(staff, on_file):
    lending = request(staff, on_file, who=staff.boss)
    with pytest.raises(SeparationOfDuty):
        services.lending_refuse(lending_id=lending.pk, actor=staff.boss, note="不借了")


@pytest.mark.parametrize("persona", ["mkt", "rev", "gen", "outsider"])
def test_only_archivist_or_manager_decides(staff, on_file, persona):
    lending = request(staff, on_file, who=staff.inv)
    with pytest.raises(Forbidden):
        services.lending_approve(lending_id=lending.pk, actor=getattr(staff, persona))


def test_borrowing_a_file_already_out_is_refused(staff, on_file):
    lend_out(staff, on_file, requester=staff.mkt)
    count = Lending.objects.count()

    with pytest.raises(InvalidState, match="already lent out to mkt") as refused:
        request(staff, on_file, who=staff.rev)

    assert "due back on" in refused.value.message
    assert Lending.objects.count() == count


def test_handing_out_a_file_that_another_approved_lending_took_is_refused(staff, on_file):
    first, second = request(staff, on_file, who=staff.mkt), request(staff, on_file, who=staff.rev)
    for lending in (first, second):
        services.lending_approve(lending_id=lending.pk, actor=staff.arch)
    services.lending_out(lending_id=first.pk, actor=staff.arch)

    with pytest.raises(InvalidState, match="already lent out"):
        services.lending_out(lending_id=second.pk, actor=staff.arch)
    second.refresh_from_db()
    assert second.status == Lending.APPROVED


def test_returning_a_file_that_is_not_out_is_refused(staff, on_file):
    lending = request(staff, on_file)
    services.lending_approve(lending_id=lending.pk, actor=staff.arch)

    with pytest.raises(InvalidState, match="not out"):
        services.lending_return(lending_id=lending.pk, actor=staff.arch)

    lending.refresh_from_db()
    on_file.refresh_from_db()
    assert lending.status == Lending.APPROVED and on_file.state == ItemState.ON_FILE


def test_returning_twice_is_refused(staff, on_file):
    lending = lend_out(staff, on_file)
    services.lending_return(lending_id=lending.pk, actor=staff.arch)
    with pytest.raises(InvalidState, match="not out"):
        services.lending_return(lending_id=lending.pk, actor=staff.arch)


def test_unapproved_request_cannot_be_handed_out(staff, on_file):
    lending = request(staff, on_file)
    with pytest.raises(InvalidState):
        services.lending_out(lending_id=lending.pk, actor=staff.arch)
    on_file.refresh_from_db()
    assert on_file.state == ItemState.ON_FILE


def test_a_document_not_yet_received_cannot_be_borrowed(staff, active):
    with pytest.raises(InvalidState, match="not been received"):
        request(staff, item(active, "receipt"))


def test_request_needs_purpose_and_a_due_date_not_in_the_past(staff, on_file):
    with pytest.raises(RuleViolation, match="purpose"):
        services.lending_request(item_id=on_file.pk, actor=staff.mkt, purpose=" ", due_on=today())
    with pytest.raises(RuleViolation, match="past"):
        services.lending_request(item_id=on_file.pk, actor=staff.mkt, purpose="审计", due_on=today() - timedelta(days=1))
    assert not Lending.objects.exists()


def test_vault_item_leaves_only_through_an_approved_lending(staff, secured_active):
    certificate = tick(staff, item(secured_active, "certificate"), location="金库A-01-01")
    lending = lend_out(staff, certificate, requester=staff.gen, approver=staff.boss)
    certificate.refresh_from_db()
    assert certificate.state == ItemState.OUT
    entry = AuditEntry.objects.get(action="archive_lending_out", object_id=str(lending.pk))
    assert entry.payload["vault_location"] == "金库A-01-01"


def test_overdue_lendings_show_after_the_due_date(staff, on_file):
    lending = lend_out(staff, on_file, days=3)
    assert list(overdue_lendings()) == []
    with time_machine.travel(timezone.now() + timedelta(days=5)):
        assert list(overdue_lendings()) == [lending]
        services.lending_return(lending_id=lending.pk, actor=staff.arch)
        assert list(overdue_lendings()) == []
        assert AuditEntry.objects.get(action="archive_lending_return").payload["overdue_days"] == 2
