"""Queries of the archive, scoped like the loans (SPEC §4): archivist, general and manager see every folder;
anyone else sees a folder only for the loans they may see, and gets 404 for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from applications.models import Loan, Status
from applications.selectors import access_loan, loan_scope, loans_visible_to
from archive.checklist import DEFAULT_RETENTION_YEARS, ENDED, Section, file_code, retention_until
from archive.models import (
    ChecklistItem,
    Destruction,
    Folder,
    Handover,
    ItemState,
    Lending,
    LoanFile,
    RetentionPeriod,
)
from loancenter.lib.dates import add_months, today


def sees_all(user) -> bool:
    return loan_scope(user) is None


def folders_visible_to(user) -> QuerySet[Folder]:
    qs = Folder.objects.select_related("customer", "keeper")
    if sees_all(user):
        return qs
    return qs.filter(pk__in=LoanFile.objects.filter(loan__in=loans_visible_to(user)).values("folder_id"))


def access_folder(user, pk) -> Folder:
    try:
        return folders_visible_to(user).get(pk=pk)
    except (Folder.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def access_item(user, pk) -> ChecklistItem:
    """The item if its loan is in ``user``'s scope; 404 otherwise."""
    try:
        item = ChecklistItem.objects.select_related("loan_file__loan__customer", "loan_file__folder").get(pk=pk)
    except (ChecklistItem.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None
    if not sees_all(user):
        access_loan(user, item.loan_file.loan_id)  # 404 outside the scope, recorded with the loan
    return item


def folder_search(user, query: str = "") -> QuerySet[Folder]:
    """By customer name, ID number, contract number or folder number."""
    qs = folders_visible_to(user)
    query = (query or "").strip()
    if query:
        match = (
            Q(folder_no__icontains=query)
            | Q(customer__name__icontains=query)
            | Q(customer__id_number__iexact=query)
            | Q(customer__loans__contracts__contract_no__icontains=query)
            | Q(customer__loans__application_no__iexact=query)
        )
        if len(query) >= 6:  # the last digits of an ID number, as read off a copy of the card
            match |= Q(customer__id_number__iendswith=query)
        qs = qs.filter(match).distinct()
    return qs.order_by("-id")


def retention_overrides() -> dict[str, int]:
    return {**DEFAULT_RETENTION_YEARS, **dict(RetentionPeriod.objects.values_list("category", "years"))}


def retention_table() -> list[tuple[str, str, int, str]]:
    rows = {r.category: r for r in RetentionPeriod.objects.all()}
    table = []
    for value, label in Section.choices:
        row = rows.get(value)
        table.append((value, label, row.years if row else DEFAULT_RETENTION_YEARS[value], row.basis if row else ""))
    return table


@dataclass
class LoanFileView:
    loan_file: LoanFile
    loan: Loan
    sections: list[tuple[str, str, list[ChecklistItem]]]
    received: int
    total: int
    out: int
    completable: bool
    lendings: list[Lending] = field(default_factory=list)


def scans_of(loan: Loan) -> dict[str, object]:
    """The first live uploaded file of each document code of ``loan`` (its own and its borrower's folder files): the
    electronic copy the checklist starts from (SPEC §11) — its date and uploader are the "scan received" column."""
    from applications.files.models import DocumentFile
    from applications.files.selectors import files_of_loan

    scans: dict[str, object] = {}
    for document in files_of_loan(loan).exclude(state=DocumentFile.State.VOIDED).order_by("uploaded_at", "id"):
        scans.setdefault(document.code, document)
    return scans


def annotate_scans(items, loan: Loan) -> None:
    scans = scans_of(loan)
    for item in items:
        code = file_code(item.code)
        item.scan = scans.get(code) if code else None


def folder_loans(folder: Folder, user) -> list[LoanFileView]:
    """Each loan of the folder the reader may see, with its checklist by section and the retention dates."""
    loans = loans_visible_to(user).filter(customer_id=folder.customer_id)
    files = (
        LoanFile.objects.filter(folder=folder, loan__in=loans)
        .select_related("loan__product", "loan__customer", "completed_by")
        .prefetch_related(
            Prefetch("items", queryset=ChecklistItem.objects.select_related("received_by").order_by("position", "id")),
            Prefetch("loan__archive_lendings", queryset=Lending.objects.select_related("requester", "item")
                     .filter(status__in=[Lending.REQUESTED, Lending.APPROVED, Lending.OUT])),
        )
        .order_by("-loan_id")
    )
    overrides = retention_overrides()
    views = []
    for loan_file in files:
        items = list(loan_file.items.all())
        open_lendings = list(loan_file.loan.archive_lendings.all())
        by_item = {}
        for lending in open_lendings:
            by_item.setdefault(lending.item_id, []).append(lending)
        annotate_scans(items, loan_file.loan)
        for item in items:
            item.retention_until = retention_until(item, loan_file.loan, overrides)
            item.open_lendings = by_item.get(item.pk, [])
            item.destroy_due = (item.state == ItemState.ON_FILE and item.retention_until is not None
                                and item.retention_until <= today())
        sections = [(value, label, [i for i in items if i.section == value]) for value, label in Section.choices]
        received = sum(1 for i in items if i.state != ItemState.PENDING)
        out = sum(1 for i in items if i.state == ItemState.OUT)
        views.append(LoanFileView(
            loan_file=loan_file, loan=loan_file.loan, sections=[s for s in sections if s[2]], received=received,
            total=len(items), out=out, lendings=open_lendings,
            completable=loan_file.completed_at is None and loan_file.loan.status == Status.SETTLED,
        ))
    return views


def checklist_for_loan(loan: Loan) -> tuple[LoanFile | None, list[tuple[str, str, list[ChecklistItem]]]]:
    loan_file = LoanFile.objects.select_related("folder").filter(loan=loan).first()
    if loan_file is None:
        return None, []
    overrides = retention_overrides()
    items = list(loan_file.items.select_related("received_by").order_by("position", "id"))
    annotate_scans(items, loan)
    for item in items:
        item.retention_until = retention_until(item, loan, overrides)
    sections = [(value, label, [i for i in items if i.section == value]) for value, label in Section.choices]
    return loan_file, [s for s in sections if s[2]]


# ---------------------------------------------------------------------------------------------------------------
# Registers and queues


def overdue_lendings(as_of: date | None = None) -> QuerySet[Lending]:
    """Files out past their due date, oldest due first (the archivist's queue and the manager's dashboard)."""
    return (
        Lending.objects.filter(status=Lending.OUT, due_on__lt=as_of or today())
        .select_related("item", "loan__customer", "requester")
        .order_by("due_on", "id")
    )


def lendings_visible_to(user) -> QuerySet[Lending]:
    qs = Lending.objects.select_related("item", "loan__customer", "requester", "decided_by", "out_by", "returned_by")
    if sees_all(user):
        return qs
    return qs.filter(requester=user)


def lending_register(start: date, end: date) -> QuerySet[Lending]:
    """Lendings requested, lent out or returned within [start, end]."""
    def day(name: str) -> Q:
        return Q(**{f"{name}__date__gte": start, f"{name}__date__lte": end})

    return (
        Lending.objects.filter(day("requested_at") | day("out_at") | day("returned_at"))
        .select_related("item__loan_file__folder", "loan__customer", "requester", "decided_by", "out_by", "returned_by")
        .order_by("requested_at", "id")
    )


def destruction_register(start: date, end: date) -> QuerySet[Destruction]:
    """Destructions carried out within [start, end] (the record of each is kept forever)."""
    return (
        Destruction.objects.filter(status=Destruction.DESTROYED, destroyed_on__gte=start, destroyed_on__lte=end)
        .select_related("item__loan_file__folder", "loan__customer", "proposed_by", "decided_by", "witness")
        .order_by("destroyed_on", "id")
    )


def items_due_for_destruction(as_of: date | None = None) -> QuerySet[ChecklistItem]:
    """Items on file whose retention period has passed and that no proposal covers yet (set-based per category)."""
    as_of = as_of or today()
    due = Q(pk__in=[])
    for category, years in retention_overrides().items():
        # ended_on + years <= as_of  <=>  ended_on <= as_of - years
        due |= Q(section=category, loan_file__loan__status_changed_at__date__lte=add_months(as_of, -12 * years))
    open_proposal = Destruction.objects.filter(item=OuterRef("pk"), status=Destruction.PROPOSED)
    return (
        ChecklistItem.objects.filter(due, state=ItemState.ON_FILE, loan_file__loan__status__in=ENDED)
        .exclude(Exists(open_proposal))
        .select_related("loan_file__loan__customer", "loan_file__folder")
        .order_by("loan_file__loan__status_changed_at", "id")
    )


@dataclass
class ArchiveQueue:
    to_receive: list[LoanFile]
    pending_lendings: list[Lending]
    approved_lendings: list[Lending]
    overdue: list[Lending]
    destructions_due: list[ChecklistItem]
    destructions_proposed: list[Destruction]
    handovers_to_confirm: list[Handover]
    files_to_close: list[LoanFile]


# The archive queue's lists: each with the way from its rows to their loan (the loan filters of the queue's page,
# issue 15 part 12, narrow each list through it).
QUEUE_PATHS = {"to_receive": "loan__", "pending_lendings": "loan__", "approved_lendings": "loan__", "overdue": "loan__",
               "destructions_due": "loan_file__loan__", "destructions_proposed": "loan__", "files_to_close": "loan__"}


def archive_queue_rows(user) -> dict[str, QuerySet]:
    """The archive queue's lists, unsliced, each in its order and kept to the loans ``user`` may see (the menu's
    badge counts within the same scope)."""
    pending_count = ChecklistItem.objects.filter(loan_file=OuterRef("pk"), state=ItemState.PENDING)
    base = Lending.objects.select_related("item", "loan__customer", "requester")
    rows = {
        "to_receive": LoanFile.objects.filter(
            Exists(pending_count), completed_at__isnull=True,
            loan__status__in=[Status.CONTRACT_SIGNED, Status.COLLATERAL_REGISTERED, Status.READY_TO_DISBURSE,
                              Status.ACTIVE])
        .select_related("loan__customer", "loan__product", "folder").order_by("-loan__status_changed_at"),
        "pending_lendings": base.filter(status=Lending.REQUESTED).order_by("requested_at"),
        "approved_lendings": base.filter(status=Lending.APPROVED).order_by("decided_at"),
        "overdue": overdue_lendings(),
        "destructions_due": items_due_for_destruction(),
        "destructions_proposed": Destruction.objects.filter(status=Destruction.PROPOSED)
        .select_related("item", "loan__customer", "proposed_by").order_by("proposed_at"),
        "files_to_close": LoanFile.objects.filter(completed_at__isnull=True, loan__status=Status.SETTLED)
        .select_related("loan__customer", "folder").order_by("loan__status_changed_at"),
    }
    if sees_all(user):
        return rows
    visible = loans_visible_to(user).values("pk")
    return {name: qs.filter(**{f"{QUEUE_PATHS[name]}in": visible}) for name, qs in rows.items()}


def archive_queue(user, *, limit: int = 50, rows: dict[str, QuerySet] | None = None) -> ArchiveQueue:
    """The archivist's work queue: what to receive, to decide, to hand out, to chase, to destroy (``rows``: the
    lists of ``archive_queue_rows``, narrowed by the page's filters; the first ``limit`` of each)."""
    rows = rows if rows is not None else archive_queue_rows(user)
    to_receive = list(rows["to_receive"][:limit])
    if to_receive:
        counts = {}
        for file_id in ChecklistItem.objects.filter(loan_file__in=to_receive, state=ItemState.PENDING).values_list(
            "loan_file_id", flat=True
        ):
            counts[file_id] = counts.get(file_id, 0) + 1
        for loan_file in to_receive:
            loan_file.pending = counts.get(loan_file.pk, 0)
    return ArchiveQueue(
        to_receive=to_receive,
        pending_lendings=list(rows["pending_lendings"][:limit]),
        approved_lendings=list(rows["approved_lendings"][:limit]),
        overdue=list(rows["overdue"][:limit]),
        destructions_due=list(rows["destructions_due"][:limit]),
        destructions_proposed=list(rows["destructions_proposed"][:limit]),
        handovers_to_confirm=list(Handover.objects.filter(to_user=user, confirmed_at__isnull=True)
                                  .select_related("from_user").prefetch_related("folders")),
        files_to_close=list(rows["files_to_close"][:limit]),
    )


def vault_items(query: str = "") -> QuerySet[ChecklistItem]:
    qs = (
        ChecklistItem.objects.filter(vault=True).exclude(state=ItemState.PENDING)
        .select_related("loan_file__loan__customer", "loan_file__folder", "received_by")
        .order_by("location", "id")
    )
    if query:
        qs = qs.filter(Q(location__icontains=query) | Q(reference__icontains=query)
                       | Q(loan_file__folder__folder_no__icontains=query) | Q(loan_file__loan__customer__name__icontains=query))
    return qs
