"""Demo archive: folders for the demo loans with a realistic mix, through the real services.

``seed_archive(rng)`` is called by ``seed_demo`` after the loans exist. It opens every folder, ticks most of
what a loan at its stage would have sent to the archive (vault items with a location), leaves some files
incomplete, closes a settled loan's file where one exists, and registers lendings: one returned, one out,
one overdue, one waiting for approval; and one inspection.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from applications.models import Loan, Status
from archive import services
from archive.models import ChecklistItem, ItemState, LoanFile
from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.models import User

VAULT_SHELVES = ["金库A-01", "金库A-02", "金库B-01"]
PURPOSES = ["贷后检查核对原件", "内部审计抽查", "诉讼准备调阅合同", "客户申请提前还款复核"]


@dataclass
class ArchiveDemo:
    folders: int = 0
    ticked: int = 0
    complete: list[int] = field(default_factory=list)
    incomplete: list[int] = field(default_factory=list)
    out: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)


def _travel(moment: datetime):
    try:
        import time_machine
    except ImportError:  # without it the lendings are simply dated today
        return contextlib.nullcontext()
    return time_machine.travel(moment, tick=True)


def _first(post: str, *, exclude: User | None = None) -> User | None:
    qs = User.objects.filter(is_active=True, groups__name=post).order_by("id")
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs.first()


def _tick(item: ChecklistItem, archivist: User, rng: random.Random, loan: Loan) -> None:
    since = timezone.localtime(loan.status_changed_at).date()
    received_on = min(today(), since + timedelta(days=rng.randint(0, 4)))
    location = f"{rng.choice(VAULT_SHELVES)}-{rng.randint(1, 20):02d}" if item.vault else ""
    services.item_receive(item_id=item.pk, actor=archivist, received_on=received_on, location=location,
                          copy_kind="original" if item.original_required else "copy", pages=rng.randint(1, 12))


@transaction.atomic
def seed_archive(rng: random.Random) -> ArchiveDemo:
    result = ArchiveDemo()
    archivist = _first(P.ARCHIVIST)
    manager = _first(P.MANAGER)
    if archivist is None or manager is None:
        return result
    loans = [loan for loan in Loan.objects.select_related("customer", "product").order_by("id") if services.archivable(loan)]
    for loan in loans:
        services.checklist_sync(loan=loan, actor=archivist)
    for loan in loans:
        services.folder_open(customer_id=loan.customer_id, actor=archivist)
    result.folders = len({loan.customer_id for loan in loans})

    settled_closed = False
    for index, loan in enumerate(loans):
        items = list(ChecklistItem.objects.filter(loan_file__loan=loan, state=ItemState.PENDING).order_by("position"))
        if loan.status == Status.SETTLED and not settled_closed:
            keep_missing = 0  # one settled loan's file, complete and closed
        elif loan.status == Status.APPROVED:
            keep_missing = len(items) // 2  # papers still arriving from marketing
        else:
            keep_missing = 0 if index % 3 == 0 else rng.randint(1, 3)
        missing = set(rng.sample(range(len(items)), min(keep_missing, len(items))))
        for i, item in enumerate(items):
            if i not in missing:
                _tick(item, archivist, rng, loan)
                result.ticked += 1
        loan_file = LoanFile.objects.get(loan=loan)
        if loan.status == Status.SETTLED and not settled_closed:
            services.loan_file_complete(loan_file_id=loan_file.pk, actor=archivist)
            settled_closed = True
            result.complete.append(loan.pk)
        elif missing:
            result.incomplete.append(loan.pk)

    # Lending-out: one returned, one out, one overdue, one waiting for approval.
    requesters = [u for u in (_first(P.MARKETING), _first(P.GENERAL), _first(P.REVIEWER)) if u is not None]
    on_file = list(
        ChecklistItem.objects.filter(state=ItemState.ON_FILE, loan_file__completed_at__isnull=True)
        .select_related("loan_file__loan").order_by("id")
    )
    rng.shuffle(on_file)
    plan = [("returned", 30, 10), ("out", 3, 14), ("overdue", 25, 7), ("requested", 0, 7)]
    for (kind, days_ago, lend_days), item in zip(plan, on_file, strict=False):
        requester = rng.choice(requesters) if requesters else manager
        start = timezone.now() - timedelta(days=days_ago)
        with _travel(start):
            lending = services.lending_request(item_id=item.pk, actor=requester, purpose=rng.choice(PURPOSES),
                                               due_on=today() + timedelta(days=lend_days))
            if kind == "requested":
                continue
            services.lending_approve(lending_id=lending.pk, actor=manager, note="同意调阅")
            services.lending_out(lending_id=lending.pk, actor=archivist)
        if kind == "returned":
            with _travel(start + timedelta(days=lend_days - 2)):
                services.lending_return(lending_id=lending.pk, actor=archivist, note="原件完好")
        elif kind == "out":
            result.out.append(lending.lending_no)
        else:
            result.overdue.append(lending.lending_no)

    with _travel(timezone.now() - timedelta(days=14)):
        services.inspection_record(actor=manager, inspected_on=today(), scope="金库重要凭证及本季度新开档案",
                                   folders_checked=min(result.folders, 20),
                                   findings="金库凭证账实相符;两户借据原件尚未移交,已督促营销岗补交。",
                                   rectification="一周内补齐借据原件。")
    return result
