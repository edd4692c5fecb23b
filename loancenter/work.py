"""A person's open work (SPEC §13): what a hand-over moves and what keeps an account from being closed.

Each app registers the kinds of work it keeps (``register`` in its ``AppConfig.ready``): the items a person holds,
how they move to a successor and what the successor must hold. The kernel reads them here without importing the
apps above it: the staff services refuse to close an account, remove a post or move a person to another unit while
they hold work (``check_no_open_work``), and the hand-over (``loancenter.handovers``) lists and moves it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from loancenter.lib.errors import RuleViolation


@dataclass(frozen=True)
class WorkItem:
    """One thing a person holds: a customer, a loan as its marketing officer, an investigation round…"""

    kind: str
    id: int  # the row's id in its own table
    label: str  # what the hand-over sheet shows (application number, customer's name…)
    loan_id: int | None = None

    def as_dict(self) -> dict:
        return {"kind": self.kind, "id": self.id, "label": self.label, "loan": self.loan_id}


@dataclass(frozen=True)
class WorkKind:
    code: str
    label: Callable[[], str]  # lazy: the reader's language
    items: Callable[..., list[WorkItem]]  # items(user) → what the user holds now, in a stable order
    # move(from_user=, to_user=, actor=, ids=, reason=, handover=) → moves those rows (already locked by the caller's
    # transaction), writing each loan's audit row
    move: Callable[..., None]
    # Posts the work belongs to: removing the last of them from a person holding it is refused. Empty: any post.
    posts: frozenset[str] = field(default_factory=frozenset)
    # What the successor must hold to take it (one of these posts); empty: anyone.
    receiver_posts: frozenset[str] = field(default_factory=frozenset)
    # check(to_user, ids) raises a DomainError when the successor may not take one of them (separation of duty).
    check_receiver: Callable[..., None] | None = None
    order: int = 100


REGISTRY: dict[str, WorkKind] = {}


def register(kind: WorkKind) -> None:
    REGISTRY[kind.code] = kind


def kinds() -> list[WorkKind]:
    return sorted(REGISTRY.values(), key=lambda k: (k.order, k.code))


def open_work(user, *, kinds_of: Iterable[WorkKind] | None = None) -> dict[str, list[WorkItem]]:
    """What ``user`` holds, per kind (kinds with nothing left out)."""
    found = {}
    for kind in kinds_of if kinds_of is not None else kinds():
        items = kind.items(user)
        if items:
            found[kind.code] = items
    return found


def describe(work: dict[str, list[WorkItem]], *, limit: int = 5) -> str:
    """"2 investigations (GD001, GD002); 1 customer (张伟)" — the work named, for a refusal's message."""
    parts = []
    for code, items in work.items():
        names = ", ".join(item.label for item in items[:limit]) + ("…" if len(items) > limit else "")
        parts.append(f"{REGISTRY[code].label()} × {len(items)} ({names})")
    return "; ".join(parts)


def check_no_open_work(user, *, what: str, posts: Iterable[str] | None = None) -> None:
    """Refuse (400 ``open_work``, naming the work) while ``user`` holds work: all of it (``posts`` None: closing the
    account, a move to another unit) or the work of ``posts`` when those posts are removed (SPEC §13)."""
    if posts is None:
        relevant = kinds()
    else:
        removed = set(posts)
        kept = set(user.posts) - removed
        relevant = [k for k in kinds() if k.posts and k.posts & removed and not k.posts & kept]
    work = open_work(user, kinds_of=relevant)
    if work:
        raise RuleViolation(
            "open_work",
            _("%(name)s still holds open work: %(work)s. Hand it over to a successor first (岗位变动交接) before "
              "%(what)s.") % {"name": user.username, "work": describe(work), "what": what},
        )


# ---------------------------------------------------------------------------------------------------------------
# Queues: the work each post finds on its home page (SPEC §8 "one work queue per post"). An app registers the queues
# it keeps (``register_queue`` in its ``AppConfig.ready``), each counting, for one reader, what waits for them and
# listing the first rows; the home page and the menu's badges read them here without importing the apps.


@dataclass(frozen=True)
class QueueRow:
    label: str  # what the row shows (the loan, the borrower, what is due)
    due: object  # the date it is due, or None
    url: str
    overdue: bool = False


@dataclass(frozen=True)
class QueueKind:
    code: str
    label: Callable[[], str]  # lazy: the reader's language
    posts: frozenset[str]  # the posts whose home shows it
    count: Callable[..., int]  # count(user) → how many wait for the reader (within their scope)
    rows: Callable[..., list[QueueRow]]  # rows(user, limit) → the first ones, most urgent first
    url_name: str  # the page that lists them all
    order: int = 100


QUEUES: dict[str, QueueKind] = {}


def register_queue(kind: QueueKind) -> None:
    QUEUES[kind.code] = kind


def queues_for(user, *, limit: int = 5) -> list[dict]:
    """The registered queues of ``user``'s posts: each with its count and its first ``limit`` rows."""
    found = []
    for kind in sorted(QUEUES.values(), key=lambda k: (k.order, k.code)):
        if not kind.posts & set(user.posts):
            continue
        count = kind.count(user)
        found.append({"kind": kind, "code": kind.code, "label": kind.label(), "count": count,
                      "rows": kind.rows(user, limit) if count else []})
    return found
