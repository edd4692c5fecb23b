"""Pure guards of the archive (SPEC §7, and SPEC §4 for lending-out: the borrower never approves).

Each guard raises a ``DomainError`` whose message tells the archivist what stopped them and what to do.
"""

from __future__ import annotations

from datetime import date

from django.utils import formats
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from applications.models import Status
from archive.models import ChecklistItem, Copy, Destruction, ItemState, Lending
from loancenter import posts as P
from loancenter.lib.errors import InvalidState, RuleViolation
from loancenter.rules import check_past_date, require_post

# Who may decide a lending request or a destruction proposal (docs/decisions.md).
DECIDING_POSTS = (P.ARCHIVIST, P.MANAGER)
# Longest lending-out period an archivist grants without a new request.
MAX_LENDING_DAYS = 90


def _d(value: date) -> str:
    return value.isoformat()


def require_archivist(user) -> None:
    require_post(user, P.ARCHIVIST)


def require_decider(user) -> None:
    require_post(user, *DECIDING_POSTS)


# ---------------------------------------------------------------------------------------------------------------
# Receiving documents and the vault


def check_receivable(item: ChecklistItem) -> None:
    if item.state == ItemState.OUT:
        raise InvalidState(_("“%(item)s” is lent out; record its return before changing its receipt.") % {"item": item.label})
    if item.state == ItemState.DESTROYED:
        raise InvalidState(_("“%(item)s” was destroyed on %(on)s.") % {"item": item.label, "on": _d(item.destroyed_on)})


def check_receipt_details(item: ChecklistItem, *, copy_kind: str, pages: int | None, received_on: date,
                          location: str) -> None:
    if copy_kind not in Copy.values:
        raise RuleViolation("copy_kind", _("Say whether the original or a copy was received."), field="copy_kind")
    if pages is None or pages < 1:
        raise RuleViolation("pages", _("Enter the number of pages (at least 1)."), field="pages")
    check_past_date(received_on, field="received_on", code="future_date")
    if item.original_required and copy_kind == Copy.COPY:
        raise RuleViolation("original_required", _("“%(item)s” needs the paper original; a copy cannot tick it.")
                            % {"item": item.label}, field="copy_kind")
    if item.vault:
        check_vault_location(item, location)


def check_vault_location(item: ChecklistItem, location: str) -> None:
    """SPEC §7: important vouchers (保单, 他项权证, 权利质物) go to the vault with a location."""
    if not item.vault:
        raise RuleViolation("not_vault", _("“%(item)s” is not a vault item.") % {"item": item.label})
    if not (location or "").strip():
        raise RuleViolation(
            "vault_location_required",
            _("“%(item)s” goes to the vault: enter its location (safe, shelf, box).") % {"item": item.label},
            field="location",
        )


def check_vault_stays(item: ChecklistItem) -> None:
    """A vault item leaves the vault only through an approved lending-out."""
    if item.vault and item.state != ItemState.PENDING:
        raise InvalidState(
            _("“%(item)s” is in the vault; it leaves only through an approved lending-out.") % {"item": item.label}
        )


# ---------------------------------------------------------------------------------------------------------------
# Lending-out (调阅)


def _out_message(item: ChecklistItem, lending: Lending | None) -> str:
    if lending is None:
        return _("“%(item)s” is already lent out.") % {"item": item.label}
    return _("“%(item)s” is already lent out to %(who)s (register %(no)s), due back on %(due)s.") % {
        "item": item.label, "who": lending.requester.display, "no": lending.lending_no, "due": _d(lending.due_on),
    }


def check_lendable(item: ChecklistItem, *, out_lending: Lending | None = None) -> None:
    if item.state == ItemState.OUT:
        raise InvalidState(_out_message(item, out_lending))
    if item.state == ItemState.PENDING:
        raise InvalidState(_("“%(item)s” has not been received by the archive.") % {"item": item.label})
    if item.state == ItemState.DESTROYED:
        raise InvalidState(_("“%(item)s” was destroyed on %(on)s.") % {"item": item.label, "on": _d(item.destroyed_on)})


def check_lending_request(*, purpose: str, due_on: date, today: date) -> None:
    if not (purpose or "").strip():
        raise RuleViolation("purpose", _("State the purpose of the lending-out."), field="purpose")
    if due_on < today:
        raise RuleViolation("due_on", _("The due date cannot be in the past."), field="due_on")
    if (due_on - today).days > MAX_LENDING_DAYS:
        raise RuleViolation("due_on", _("A file is lent out for at most %(days)s days.") % {"days": MAX_LENDING_DAYS},
                            field="due_on")


def check_lending_step(lending: Lending, step) -> None:
    """409 unless the lending's state allows ``step`` (a transition declared on ``Lending``)."""
    if can_proceed(step):
        return
    if step.__name__ == "take_back":
        raise InvalidState(_("Lending %(no)s is not out (it is %(status)s); there is nothing to return.")
                           % {"no": lending.lending_no, "status": lending.get_status_display()})
    raise InvalidState(_("Lending %(no)s is %(status)s; this is not possible now.")
                       % {"no": lending.lending_no, "status": lending.get_status_display()})


# ---------------------------------------------------------------------------------------------------------------
# Destruction (销毁)


def check_destroyable(item: ChecklistItem, *, retention_until: date | None, today: date,
                      open_destruction: Destruction | None = None) -> None:
    if item.state == ItemState.DESTROYED:
        raise InvalidState(_("“%(item)s” was already destroyed on %(on)s.") % {"item": item.label, "on": _d(item.destroyed_on)})
    if open_destruction is not None:
        raise InvalidState(_("The destruction of “%(item)s” is already proposed and waits for approval.") % {"item": item.label})
    if item.state == ItemState.OUT:
        raise InvalidState(_("“%(item)s” is lent out; it cannot be destroyed before it is back.") % {"item": item.label})
    if item.state == ItemState.PENDING:
        raise InvalidState(_("“%(item)s” was never received; there is nothing to destroy.") % {"item": item.label})
    if retention_until is None:
        raise RuleViolation("retention_not_started",
                            _("The loan has not ended; the retention period of “%(item)s” has not started.") % {"item": item.label})
    if today < retention_until:
        raise RuleViolation(
            "retention_not_expired",
            _("“%(item)s” must be kept until %(until)s; it cannot be destroyed before.")
            % {"item": item.label, "until": formats.date_format(retention_until, "Y-m-d")},
        )


def check_witness(destruction: Destruction, witness) -> None:
    if witness is None:
        raise RuleViolation("witness", _("Name the witness of the destruction."), field="witness")
    if witness.pk == destruction.proposed_by_id:
        raise RuleViolation("witness", _("The witness must be someone other than the archivist who destroys the file."),
                            field="witness")


# ---------------------------------------------------------------------------------------------------------------
# Closing a loan's file


def check_file_completable(loan, items: list[ChecklistItem]) -> None:
    """Issue 5: a settled loan's file is complete only with every required original in and nothing lent out."""
    if loan.status != Status.SETTLED:
        raise InvalidState(_("Only a settled loan's file can be marked complete (the loan is %(status)s).")
                           % {"status": loan.get_status_display()})
    out = [i.label for i in items if i.state == ItemState.OUT]
    if out:
        raise RuleViolation("file_lent_out", _("Still lent out: %(items)s.") % {"items": "、".join(out)})
    missing = [i.label for i in items if i.state == ItemState.PENDING]
    if missing:
        raise RuleViolation("documents_missing", _("Not yet received: %(items)s.") % {"items": "、".join(missing)})
    copies = [i.label for i in items if i.original_required and i.copy_kind != Copy.ORIGINAL and i.state != ItemState.DESTROYED]
    if copies:
        raise RuleViolation("original_missing", _("Only a copy is on file; the original is required: %(items)s.")
                            % {"items": "、".join(copies)})
