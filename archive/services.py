"""Operations of the archive. Each runs in one transaction, locks the rows it changes, checks its rules,
writes an audit row, and on refusal changes nothing (the refusal itself is kept in ``RefusedAttempt``).
"""

from __future__ import annotations

import logging
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.models import STAGE, Customer, Loan, Status
from applications.workflow import audit
from archive import checklist, rules
from archive.checklist import ARCHIVED_FROM_STAGE, Section, expected_items, retention_until
from archive.models import (
    ChecklistItem,
    Destruction,
    Folder,
    Handover,
    Inspection,
    ItemState,
    Lending,
    LoanFile,
    RetentionPeriod,
)
from archive.selectors import retention_overrides
from loancenter import posts as P
from loancenter.lib import versioning
from loancenter.lib.dates import today
from loancenter.lib.errors import Forbidden, InvalidState, RuleViolation
from loancenter.refusals import note_loan, recorded
from loancenter.rules import check_maker_checker, check_past_date

logger = logging.getLogger(__name__)


def _service(action: str, **options):
    """One transaction; a refusal rolls it back and is recorded with its loan (``note_loan`` as the loan is found)."""

    def decorate(fn):
        return recorded(f"archive_{action}", **options)(transaction.atomic(fn))

    return decorate


# ---------------------------------------------------------------------------------------------------------------
# Folders and checklists


def _folder_for(customer: Customer, actor=None) -> tuple[Folder, bool]:
    folder = Folder.objects.filter(customer=customer).first()
    if folder is not None:
        return folder, False
    try:
        with transaction.atomic():
            folder = Folder.objects.create(customer=customer, opened_by=actor if getattr(actor, "pk", None) else None,
                                           keeper=actor if actor is not None and actor.has_post(P.ARCHIVIST) else None)
    except IntegrityError:  # opened at the same moment by someone else
        return Folder.objects.get(customer=customer), False
    folder.folder_no = f"DA-{folder.pk:06d}"
    folder.save(update_fields=["folder_no"])
    # Opened by the system on approval: no audit row (the loan's trail holds only what people did).
    if getattr(actor, "pk", None):
        audit(actor=actor, action="archive_folder_open", obj=folder,
              payload={"folder_no": folder.folder_no, "customer": customer.pk})
    return folder, True


def _take_into_keeping(folder: Folder, actor) -> None:
    """A folder opened automatically has no keeper until an archivist first works on it."""
    if folder.keeper_id is None and actor.has_post(P.ARCHIVIST):
        Folder.objects.filter(pk=folder.pk, keeper__isnull=True).update(keeper=actor)
        folder.keeper = actor


def archivable(loan: Loan) -> bool:
    """A loan enters the archive once approved (rejected and never-approved loans stay with marketing)."""
    return loan.stage_reached >= ARCHIVED_FROM_STAGE and loan.status != Status.REJECTED


def checklist_sync(*, loan: Loan, actor=None) -> LoanFile | None:
    """Open the customer's folder and the loan's file if needed and add the items the loan now calls for.

    Idempotent: items already there are left as they are (with their receipts), only missing ones are added.
    """
    if not archivable(loan):
        return None
    # A fresh copy: the caller's instance may hold stale reverse one-to-one caches (receipt, disbursement).
    loan = Loan.objects.select_related("customer", "product").get(pk=loan.pk)
    with transaction.atomic():
        folder, _created = _folder_for(loan.customer, actor)
        loan_file, _created = LoanFile.objects.get_or_create(loan=loan, defaults={"folder": folder})
        have = set(loan_file.items.values_list("code", flat=True))
        start = len(have)
        new = [
            ChecklistItem(loan_file=loan_file, section=e.section, code=e.code, reference=e.reference,
                          original_required=e.original, vault=e.vault, position=start + i)
            for i, e in enumerate(x for x in expected_items(loan) if x.code not in have)
        ]
        if new:
            ChecklistItem.objects.bulk_create(new, ignore_conflicts=True)
            if getattr(actor, "pk", None):  # the automatic sync on a transition leaves the loan's trail alone
                audit(actor=actor, action="archive_checklist_sync", loan=loan, obj=loan_file,
                      payload={"added": [i.code for i in new]})
    return loan_file


@_service("folder_open", posts=(P.ARCHIVIST,))
def folder_open(*, customer_id: int, actor) -> Folder:
    """The archivist opens a customer's folder (and the files of the customer's approved loans)."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    folder, _created = _folder_for(customer, actor)
    _take_into_keeping(folder, actor)
    for loan in customer.loans.filter(stage_reached__gte=ARCHIVED_FROM_STAGE).exclude(status=Status.REJECTED):
        checklist_sync(loan=loan, actor=actor)
    return folder


def _lock_item(item_id: int) -> ChecklistItem:
    item = ChecklistItem.objects.select_for_update().select_related("loan_file__loan", "loan_file__folder").get(pk=item_id)
    note_loan(item.loan_file.loan_id)
    return item


@_service("item_receive", posts=(P.ARCHIVIST,))
def item_receive(*, item_id: int, actor, copy_kind: str, pages: int | None, received_on: date | None = None,
                 location: str = "") -> ChecklistItem:
    """Tick a checklist item: what arrived (original or copy), how many pages, when, and who received it."""
    item = _lock_item(item_id)
    rules.check_receivable(item)
    received_on = received_on or today()
    rules.check_receipt_details(item, copy_kind=copy_kind, pages=pages, received_on=received_on, location=location)
    before = {"state": item.state, "copy_kind": item.copy_kind, "pages": item.pages}
    item.state = ItemState.ON_FILE
    item.copy_kind, item.pages, item.received_on, item.received_by = copy_kind, pages, received_on, actor
    if item.vault:
        item.location = location.strip()
    item.save(update_fields=["state", "copy_kind", "pages", "received_on", "received_by", "location"])
    _take_into_keeping(item.loan_file.folder, actor)
    audit(actor=actor, action="archive_item_receive", loan=item.loan_file.loan, obj=item, payload={
        "item": item.code, "copy_kind": copy_kind, "pages": pages, "received_on": received_on,
        "location": item.location, "before": before,
    })
    return item


@_service("items_receive_bulk", posts=(P.ARCHIVIST,))
def items_receive_bulk(*, loan_file_id: int, item_ids: list[int], actor, copy_kind: str = "original",
                       received_on: date | None = None) -> list[ChecklistItem]:
    """Tick several items of one loan's file at once (SPEC §11): the paper arrived as a bundle. Each item's page count
    comes from its scan (the uploaded file); an item without a scan, a vault item (it needs a location) or one
    already ticked is refused by name, and then nothing is ticked."""
    from archive.selectors import scans_of

    ids = sorted({int(i) for i in item_ids})
    if not ids:
        raise RuleViolation("no_items", _("Choose the items that arrived."), field="items")
    items = list(ChecklistItem.objects.select_for_update().select_related("loan_file__loan", "loan_file__folder")
                 .filter(loan_file_id=loan_file_id, pk__in=ids).order_by("position", "id"))
    if len(items) != len(ids):
        raise RuleViolation("unknown_item", _("An item chosen is not on this file's checklist."), field="items")
    note_loan(items[0].loan_file.loan_id)
    scans = scans_of(items[0].loan_file.loan)
    for item in items:
        if item.state != ItemState.PENDING:
            raise InvalidState(_("“%(item)s” is already ticked.") % {"item": item.label})
        if item.vault:
            raise RuleViolation("vault_location", _("“%(item)s” goes to the vault: tick it on its own with its "
                                                    "location.") % {"item": item.label}, field="items")
        code = checklist.file_code(item.code)
        if code is None or code not in scans:
            raise RuleViolation("no_scan", _("“%(item)s” has no scan to take its page count from: tick it on its "
                                             "own.") % {"item": item.label}, field="items")
    return [item_receive(item_id=item.pk, actor=actor, copy_kind=copy_kind,
                         pages=min(scans[checklist.file_code(item.code)].pages, 9999), received_on=received_on)
            for item in items]


@_service("item_unreceive", posts=(P.ARCHIVIST,))
def item_unreceive(*, item_id: int, actor, reason: str) -> ChecklistItem:
    """Undo a tick made by mistake (never for a vault item: it leaves the vault only through a lending-out)."""
    item = _lock_item(item_id)
    rules.check_receivable(item)
    rules.check_vault_stays(item)
    if item.state == ItemState.PENDING:
        raise InvalidState(_("“%(item)s” is not ticked.") % {"item": item.label})
    if not (reason or "").strip():
        raise RuleViolation("reason", _("Say why the tick is withdrawn."), field="reason")
    before = {"copy_kind": item.copy_kind, "pages": item.pages, "received_on": item.received_on}
    item.state, item.copy_kind, item.pages, item.received_on, item.received_by = ItemState.PENDING, "", None, None, None
    item.save(update_fields=["state", "copy_kind", "pages", "received_on", "received_by"])
    audit(actor=actor, action="archive_item_unreceive", loan=item.loan_file.loan, obj=item,
          payload={"item": item.code, "before": before}, reason=reason)
    return item


@_service("vault_move", posts=(P.ARCHIVIST,))
def vault_move(*, item_id: int, actor, location: str) -> ChecklistItem:
    """Move a vault item to another place inside the vault."""
    item = _lock_item(item_id)
    rules.check_vault_location(item, location)
    if item.state != ItemState.ON_FILE:
        raise InvalidState(_("“%(item)s” is not in the vault (%(state)s).") % {"item": item.label, "state": item.get_state_display()})
    before = item.location
    item.location = location.strip()
    item.save(update_fields=["location"])
    audit(actor=actor, action="archive_vault_move", loan=item.loan_file.loan, obj=item,
          payload={"item": item.code, "from": before, "to": item.location})
    return item


@_service("file_complete", posts=(P.ARCHIVIST,))
def loan_file_complete(*, loan_file_id: int, actor) -> LoanFile:
    """Close a settled loan's file: every required original in, nothing lent out."""
    loan_file = LoanFile.objects.select_for_update().select_related("loan", "folder").get(pk=loan_file_id)
    note_loan(loan_file.loan_id)
    if loan_file.completed_at is not None:
        raise InvalidState(_("This loan's file was already marked complete on %(on)s.")
                           % {"on": timezone.localtime(loan_file.completed_at).date().isoformat()})
    checklist_sync(loan=loan_file.loan, actor=actor)
    items = list(loan_file.items.select_for_update())
    rules.check_file_completable(loan_file.loan, items)
    loan_file.completed_at, loan_file.completed_by = timezone.now(), actor
    loan_file.save(update_fields=["completed_at", "completed_by"])
    audit(actor=actor, action="archive_file_complete", loan=loan_file.loan, obj=loan_file,
          payload={"folder_no": loan_file.folder.folder_no, "items": len(items)})
    return loan_file


# ---------------------------------------------------------------------------------------------------------------
# Lending-out (调阅)


def _lock_lending(lending_id: int, version: int | None = None) -> Lending:
    lending = Lending.objects.select_for_update().select_related("item", "requester", "loan").get(pk=lending_id)
    note_loan(lending.loan_id)
    # The version the deciding page showed (rule 22): a compare-and-swap, so a decision taken on a stale page is refused.
    versioning.bump(lending, expected=version)
    return lending


def _current_out(item: ChecklistItem) -> Lending | None:
    return item.lendings.filter(status=Lending.OUT).select_related("requester").first()


@_service("lending_request")
def lending_request(*, item_id: int, actor, purpose: str, due_on: date) -> Lending:
    """Anyone with a post asks to borrow a file (the view checks the loan is in their data scope)."""
    if not actor.posts:  # a superuser without a post neither (SPEC §16.14)
        raise Forbidden("post_required", _("Your account holds no post in the loan center."))
    item = _lock_item(item_id)
    rules.check_lendable(item, out_lending=_current_out(item))
    rules.check_lending_request(purpose=purpose, due_on=due_on, today=today())
    if item.lendings.filter(status__in=[Lending.REQUESTED, Lending.APPROVED], requester=actor).exists():
        raise InvalidState(_("You have already asked to borrow “%(item)s”.") % {"item": item.label})
    lending = Lending.objects.create(item=item, loan=item.loan_file.loan, requester=actor, purpose=purpose.strip(),
                                     due_on=due_on)
    lending.lending_no = f"DY-{lending.pk:06d}"
    lending.save(update_fields=["lending_no"])
    audit(actor=actor, action="archive_lending_request", loan=lending.loan, obj=lending,
          payload={"no": lending.lending_no, "item": item.code, "purpose": purpose, "due_on": due_on})
    return lending


@_service("lending_approve", posts=rules.DECIDING_POSTS)
def lending_approve(*, lending_id: int, actor, note: str = "", version: int | None = None) -> Lending:
    """Someone other than the requester approves (SPEC §4); an archivist or the manager decides."""
    lending = _lock_lending(lending_id, version)
    check_maker_checker(lending.requester_id, actor, what=_("asked to borrow this file"))  # SPEC §4
    rules.check_lending_status(lending, Lending.REQUESTED, action="approve")
    lending.status, lending.decided_by, lending.decided_at, lending.decision_note = Lending.APPROVED, actor, timezone.now(), note
    lending.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit(actor=actor, action="archive_lending_approve", loan=lending.loan, obj=lending,
          payload={"no": lending.lending_no, "requester": lending.requester}, reason=note)
    return lending


@_service("lending_refuse", posts=rules.DECIDING_POSTS)
def lending_refuse(*, lending_id: int, actor, note: str, version: int | None = None) -> Lending:
    lending = _lock_lending(lending_id, version)
    check_maker_checker(lending.requester_id, actor, what=_("asked to borrow this file"))  # SPEC §4
    rules.check_lending_status(lending, Lending.REQUESTED, Lending.APPROVED, action="refuse")
    if not (note or "").strip():
        raise RuleViolation("reason", _("Give the reason for refusing."), field="note")
    lending.status, lending.decided_by, lending.decided_at, lending.decision_note = Lending.REFUSED, actor, timezone.now(), note
    lending.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit(actor=actor, action="archive_lending_refuse", loan=lending.loan, obj=lending,
          payload={"no": lending.lending_no}, reason=note)
    return lending


@_service("lending_out", posts=(P.ARCHIVIST,))
def lending_out(*, lending_id: int, actor, version: int | None = None) -> Lending:
    """The archivist hands an approved file to the borrower: the only way an item (or a vault item) leaves."""
    lending = _lock_lending(lending_id, version)
    item = _lock_item(lending.item_id)
    rules.check_lending_status(lending, Lending.APPROVED, action="out")
    rules.check_lendable(item, out_lending=_current_out(item))
    lending.status, lending.out_at, lending.out_by = Lending.OUT, timezone.now(), actor
    lending.save(update_fields=["status", "out_at", "out_by"])
    item.state = ItemState.OUT
    item.save(update_fields=["state"])
    audit(actor=actor, action="archive_lending_out", loan=lending.loan, obj=lending,
          payload={"no": lending.lending_no, "item": item.code, "to": lending.requester, "due_on": lending.due_on,
                   "vault_location": item.location})
    return lending


@_service("lending_return", posts=(P.ARCHIVIST,))
def lending_return(*, lending_id: int, actor, note: str = "", version: int | None = None) -> Lending:
    lending = _lock_lending(lending_id, version)
    rules.check_lending_status(lending, Lending.OUT, action="return")
    item = _lock_item(lending.item_id)
    lending.status, lending.returned_at, lending.returned_by, lending.return_note = (
        Lending.RETURNED, timezone.now(), actor, note)
    lending.save(update_fields=["status", "returned_at", "returned_by", "return_note"])
    item.state = ItemState.ON_FILE
    item.save(update_fields=["state"])
    overdue_days = max(0, (today() - lending.due_on).days)
    audit(actor=actor, action="archive_lending_return", loan=lending.loan, obj=lending,
          payload={"no": lending.lending_no, "item": item.code, "overdue_days": overdue_days}, reason=note)
    return lending


# ---------------------------------------------------------------------------------------------------------------
# Inspection and hand-over registers


@_service("inspection_record", posts=rules.DECIDING_POSTS)
def inspection_record(*, actor, inspected_on: date, scope: str, folders_checked: int, findings: str,
                      rectification: str = "") -> Inspection:
    check_past_date(inspected_on, field="inspected_on", code="future_date")
    if not (scope or "").strip():
        raise RuleViolation("scope", _("Describe what was inspected."), field="scope")
    if not (findings or "").strip():
        raise RuleViolation("findings", _("Record the findings (write “no issues” if there were none)."), field="findings")
    inspection = Inspection.objects.create(inspected_on=inspected_on, inspector=actor, scope=scope.strip(),
                                           folders_checked=folders_checked or 0, findings=findings.strip(),
                                           rectification=(rectification or "").strip(), recorded_by=actor)
    audit(actor=actor, action="archive_inspection", obj=inspection,
          payload={"inspected_on": inspected_on, "scope": scope, "folders_checked": folders_checked})
    return inspection


@_service("handover_record", posts=(P.ARCHIVIST,))
def handover_record(*, actor, to_user, handed_on: date, folder_ids: list[int] | None = None,
                    note: str = "") -> Handover:
    """An archivist hands folders to another archivist (all folders they keep, unless a list is given)."""
    if to_user is None or to_user.pk == actor.pk:
        raise RuleViolation("to_user", _("Hand the folders over to another archivist."), field="to_user")
    if not to_user.has_post(P.ARCHIVIST):
        raise RuleViolation("to_user", _("%(name)s is not an archivist.") % {"name": to_user.display}, field="to_user")
    check_past_date(handed_on, field="handed_on", code="future_date")
    folders = Folder.objects.select_for_update()
    folders = folders.filter(pk__in=folder_ids) if folder_ids else folders.filter(keeper=actor)
    folders = list(folders)
    if not folders:
        raise RuleViolation("folders", _("There are no folders to hand over."), field="folders")
    open_lendings = Lending.objects.filter(status=Lending.OUT, item__loan_file__folder__in=folders).count()
    handover = Handover.objects.create(handed_on=handed_on, from_user=actor, to_user=to_user, note=note)
    handover.folders.set(folders)
    audit(actor=actor, action="archive_handover", obj=handover, payload={
        "to": to_user, "folders": [f.folder_no for f in folders], "files_out": open_lendings,
    }, reason=note)
    return handover


@_service("handover_confirm")
def handover_confirm(*, handover_id: int, actor) -> Handover:
    """The receiving archivist confirms; from now on they keep the folders."""
    handover = Handover.objects.select_for_update().get(pk=handover_id)
    if handover.to_user_id != actor.pk:
        raise Forbidden(
            "not_receiver", _("Only %(name)s, who takes the folders over, confirms this hand-over.") % {"name": handover.to_user.display})
    if handover.confirmed_at is not None:
        raise InvalidState(_("This hand-over was already confirmed."))
    handover.confirmed_at = timezone.now()
    handover.save(update_fields=["confirmed_at"])
    Folder.objects.filter(pk__in=handover.folders.values("pk")).update(keeper=actor)
    audit(actor=actor, action="archive_handover_confirm", obj=handover, payload={"from": handover.from_user})
    return handover


# ---------------------------------------------------------------------------------------------------------------
# Destruction (销毁)


@_service("destruction_propose", posts=(P.ARCHIVIST,))
def destruction_propose(*, item_id: int, actor, reason: str) -> Destruction:
    item = _lock_item(item_id)
    loan = item.loan_file.loan
    until = retention_until(item, loan, retention_overrides())
    open_one = item.destructions.filter(status=Destruction.PROPOSED).first()
    rules.check_destroyable(item, retention_until=until, today=today(), open_destruction=open_one)
    if not (reason or "").strip():
        raise RuleViolation("reason", _("Give the reason for the destruction."), field="reason")
    destruction = Destruction.objects.create(item=item, loan=loan, retention_until=until, reason=reason.strip(),
                                             proposed_by=actor)
    audit(actor=actor, action="archive_destruction_propose", loan=loan, obj=destruction,
          payload={"item": item.code, "retention_until": until}, reason=reason)
    return destruction


def _lock_destruction(destruction_id: int, version: int | None = None) -> Destruction:
    destruction = Destruction.objects.select_for_update().select_related("item", "loan").get(pk=destruction_id)
    note_loan(destruction.loan_id)
    # The version the deciding page showed (rule 22): a compare-and-swap, so a decision taken on a stale page is refused.
    versioning.bump(destruction, expected=version)
    return destruction


@_service("destruction_approve", posts=rules.DECIDING_POSTS)
def destruction_approve(*, destruction_id: int, actor, witness, destroyed_on: date | None = None,
                        method: str = "", version: int | None = None) -> Destruction:
    """A second person approves; the file is destroyed in front of the witness; the record is kept forever."""
    destruction = _lock_destruction(destruction_id, version)
    check_maker_checker(destruction.proposed_by_id, actor, what=_("proposed this destruction"))
    if destruction.status != Destruction.PROPOSED:
        raise InvalidState(_("This destruction is already %(status)s.") % {"status": destruction.get_status_display()})
    item = _lock_item(destruction.item_id)
    # The file may have been lent out, or the retention changed, since the proposal.
    rules.check_destroyable(item, retention_until=retention_until(item, destruction.loan, retention_overrides()), today=today())
    rules.check_witness(destruction, witness)
    destroyed_on = destroyed_on or today()
    check_past_date(destroyed_on, field="destroyed_on", code="future_date")
    destruction.status, destruction.decided_by, destruction.decided_at = Destruction.DESTROYED, actor, timezone.now()
    destruction.witness, destruction.destroyed_on, destruction.method = witness, destroyed_on, method or _("Shredded")
    destruction.save()
    item.state, item.destroyed_on = ItemState.DESTROYED, destroyed_on
    item.save(update_fields=["state", "destroyed_on"])
    audit(actor=actor, action="archive_destruction_approve", loan=destruction.loan, obj=destruction,
          payload={"item": item.code, "witness": witness, "destroyed_on": destroyed_on, "method": destruction.method})
    return destruction


@_service("destruction_refuse", posts=rules.DECIDING_POSTS)
def destruction_refuse(*, destruction_id: int, actor, reason: str, version: int | None = None) -> Destruction:
    destruction = _lock_destruction(destruction_id, version)
    check_maker_checker(destruction.proposed_by_id, actor, what=_("proposed this destruction"))
    if destruction.status != Destruction.PROPOSED:
        raise InvalidState(_("This destruction is already %(status)s.") % {"status": destruction.get_status_display()})
    if not (reason or "").strip():
        raise RuleViolation("reason", _("Give the reason for refusing."), field="reason")
    destruction.status, destruction.decided_by, destruction.decided_at = Destruction.REFUSED, actor, timezone.now()
    destruction.method = ""
    destruction.save()
    audit(actor=actor, action="archive_destruction_refuse", loan=destruction.loan, obj=destruction, reason=reason)
    return destruction


def loan_saved(loan: Loan) -> None:
    """Signal hook: a loan that reached approval (or moved on) gets its folder and checklist items.

    Runs inside the transition's transaction, in a savepoint, so that an archive fault never stops a loan.
    """
    if STAGE.get(loan.status, 0) < ARCHIVED_FROM_STAGE and loan.status != Status.WITHDRAWN:
        return
    if not archivable(loan):
        return
    try:
        with transaction.atomic():
            checklist_sync(loan=loan)
    except Exception:  # noqa: BLE001 - logged; the archivist's queue opens the folder later anyway
        logger.exception("archive checklist sync failed for loan %s", loan.pk)


@_service("retention_set", posts=(P.GENERAL, P.MANAGER))
def retention_set(*, category: str, years: int, actor, basis: str = "") -> RetentionPeriod:
    """The general post or the manager sets a category's retention period (audited, old value kept)."""
    if category not in Section.values:
        raise RuleViolation("category", _("Unknown document category."), field="category")
    if not 1 <= int(years) <= 100:
        raise RuleViolation("years", _("A retention period is 1 to 100 years."), field="years")
    row = RetentionPeriod.objects.select_for_update().filter(category=category).first()
    before = row.years if row else None
    if row is None:
        row = RetentionPeriod(category=category)
    elif row.years == int(years) and row.basis == basis:
        return row  # an unchanged save changes nothing and writes no audit row (rule 22)
    row.years, row.basis = years, basis
    row.save()
    audit(actor=actor, action="archive_retention_set", obj=row,
          payload={"category": category, "years": years, "before": before, "basis": basis})
    return row
