"""The menu: one declaration of every page a post may open (issue 15 part 1).

Each ``Entry`` names a URL, its label, the posts that see it and, for a work queue, how many items wait in it for the
reader (counted within their data scope, SPEC §4 and §16.26). Everything else is derived from ``MENU``: the side menu
of each post (``navigation`` below, a context processor), the queue badges of the post's home page (``home_badges``)
and the browser test that walks every menu link of every post (tests/browser/test_walk.py).

Wiring: the counts read every app's selectors, so this module sits above the apps (pyproject.toml, import-linter).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from loancenter import posts as P

ALL = frozenset(P.ALL_POSTS)


@dataclass(frozen=True)
class Section:
    code: str
    label: object  # lazy text: the reader's language


SECTIONS = [
    Section("work", _("My work")),
    Section("origination", _("Applications")),
    Section("postloan", _("After disbursement")),
    Section("archive", _("Archive")),
    Section("reports", _("Reports")),
    Section("admin", _("Administration")),
]


class Counts:
    """The reader's queue counts, each computed at most once per page (several entries share one query)."""

    def __init__(self, user):
        self.user = user
        self._memo: dict[str, object] = {}

    def memo(self, key: str, compute: Callable[[], object]):
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]


@dataclass(frozen=True)
class Entry:
    key: str  # stable name: the badge's data-queue and the link's data-menu
    url_name: str
    label: object
    posts: frozenset[str]
    section: str
    suffix: str = ""  # appended to the URL: "?status=…" (a filtered list) or "#…" (a part of the page)
    count: Callable[[Counts], int] | None = None  # the queue's size for the reader; None: not a queue
    testid: str = ""  # kept for the tests written before this declaration
    badge_posts: frozenset[str] = field(default_factory=frozenset)  # posts whose home shows the badge; empty: all

    @property
    def url(self) -> str:
        return reverse(self.url_name) + self.suffix

    @property
    def query(self) -> str:
        return self.suffix[1:] if self.suffix.startswith("?") else ""

    def shows_badge_to(self, posts: frozenset[str]) -> bool:
        return self.count is not None and bool(posts & (self.badge_posts or self.posts))


# ---------------------------------------------------------------------------------------------------------------
# Queue counts. Each reads the app's own selector (the queue the page lists) and stays within the reader's scope.


def _in_scope(qs: QuerySet, user) -> QuerySet:
    """``qs`` (rows of a loan) restricted to the loans ``user`` may see: the list's own restriction."""
    from applications.selectors import in_scope

    return in_scope(qs, user)


def _work_queue(status: str) -> Callable[[Counts], int]:
    def count(c: Counts) -> int:
        from applications.selectors import work_queue_counts

        return c.memo("work_queue", lambda: work_queue_counts(c.user)).get(status, 0)

    return count


def _collections(c: Counts) -> int:
    from postloan.collections import collection_queue

    return collection_queue(c.user).order_by().count()


def _pending(c: Counts) -> dict:
    from postloan.selectors import pending_for

    return c.memo("pending", lambda: pending_for(c.user))


def _servicing(c: Counts) -> int:
    return _in_scope(_pending(c)["requests"], c.user).order_by().count()


def _write_offs(c: Counts) -> int:
    return _in_scope(_pending(c)["write_offs"], c.user).order_by().count()


def _grade_changes(c: Counts) -> int:
    return _in_scope(_pending(c)["grade_changes"], c.user).order_by().count()


def _home_queue(c: Counts, code: str) -> int:
    """The count of a registered home queue (``loancenter.work.QUEUES``): the same number the home page's post-loan
    panel shows, read once a page (``home_badges(queues=…)`` hands over the panel's counts)."""
    from loancenter.work import QUEUES

    return c.memo(f"queue:{code}", lambda: QUEUES[code].count(c.user))


def _monitoring(c: Counts) -> int:
    from postloan.checks import signoff_queue

    user, n = c.user, 0
    if user.has_any_post(P.MARKETING, P.GENERAL):
        # The open checks and signals the reader works: the home panel's post-loan queues, not a second count.
        n += _home_queue(c, "post_loan_checks") + _home_queue(c, "warning_signals")
    if user.has_post(P.REVIEWER):
        n += _in_scope(signoff_queue(), user).order_by().count()
    return n


def _ledger(c: Counts) -> int:
    """Secured loans whose registration is not yet handed to disbursement (the ledger's open lines)."""
    from applications.models import Status
    from applications.selectors import loans_visible_to

    return (loans_visible_to(c.user).filter(product__secured=True)
            .filter(Q(status=Status.CONTRACT_SIGNED, collateral_registration__isnull=True)
                    | Q(collateral_registration__isnull=False, collateral_registration__handed_over_at__isnull=True))
            .order_by().count())


def _archive_queue(c: Counts) -> int:
    """Files to receive, loans-out to decide or chase, destructions to decide, hand-overs to confirm."""
    from applications.models import Status
    from archive.models import ChecklistItem, Destruction, Handover, ItemState, Lending, LoanFile
    from archive.selectors import overdue_lendings

    user = c.user
    pending = ChecklistItem.objects.filter(loan_file=OuterRef("pk"), state=ItemState.PENDING)
    to_receive = LoanFile.objects.filter(
        Exists(pending), completed_at__isnull=True,
        loan__status__in=[Status.CONTRACT_SIGNED, Status.COLLATERAL_REGISTERED, Status.READY_TO_DISBURSE,
                          Status.ACTIVE])
    return (_in_scope(to_receive, user).order_by().count()
            + _in_scope(Lending.objects.filter(status=Lending.REQUESTED), user).order_by().count()
            + _in_scope(overdue_lendings(), user).order_by().count()
            + _in_scope(Destruction.objects.filter(status=Destruction.PROPOSED), user).order_by().count()
            + Handover.objects.filter(to_user=user, confirmed_at__isnull=True).count())


def _staff_requests(c: Counts) -> int:
    from loancenter.models import StaffRequest

    return StaffRequest.objects.filter(state=StaffRequest.State.PENDING).count()


def _handovers(c: Counts) -> int:
    from loancenter.models import Handover

    return Handover.objects.filter(status=Handover.Status.PENDING).count()


# ---------------------------------------------------------------------------------------------------------------
# The declaration

MKT, INV, REV, APPR, BRANCH = P.MARKETING, P.INVESTIGATOR, P.REVIEWER, P.APPROVER, P.BRANCH_APPROVER
CLERK, DISB, ARCH, GEN, BOSS = P.MORTGAGE_CLERK, P.DISBURSEMENT, P.ARCHIVIST, P.GENERAL, P.MANAGER


def _posts(*codes: str) -> frozenset[str]:
    return frozenset(codes)


MENU: list[Entry] = [
    # Everyone's
    Entry("home", "home", _("My work queue"), ALL, "work"),
    Entry("loans", "loan-list", _("Loans"), ALL, "work"),
    Entry("customers", "customer-list", _("Customers"), ALL, "work"),
    Entry("products", "product-list", _("Products"), ALL, "work"),
    # Origination, one filtered list per step that waits for a post
    Entry("customer_new", "customer-create", _("Register a customer"), _posts(MKT), "origination"),
    Entry("loan_new", "loan-create", _("New application"), _posts(MKT), "origination", testid="nav-new-application"),
    Entry("drafts", "loan-list", _("Drafts to submit"), _posts(MKT), "origination", suffix="?status=draft",
          count=_work_queue("draft")),
    Entry("to_sign", "loan-list", _("Contracts to sign"), _posts(MKT), "origination", suffix="?status=approved",
          count=_work_queue("approved")),
    Entry("to_investigate", "loan-list", _("Waiting for investigation"), _posts(INV), "origination",
          suffix="?status=submitted", count=_work_queue("submitted")),
    Entry("investigating", "loan-list", _("Under investigation"), _posts(INV), "origination",
          suffix="?status=investigating", count=_work_queue("investigating")),
    Entry("to_review", "loan-list", _("Waiting for review"), _posts(REV), "origination", suffix="?status=under_review",
          count=_work_queue("under_review")),
    Entry("to_approve", "loan-list", _("Pending approval"), _posts(APPR, BOSS), "origination",
          suffix="?status=pending_approval", count=_work_queue("pending_approval")),
    Entry("to_branch", "loan-list", _("Pending branch approval"), _posts(BRANCH, BOSS), "origination",
          suffix="?status=pending_branch_approval", count=_work_queue("pending_branch_approval")),
    Entry("ledger", "registration-ledger", _("Registration ledger"), _posts(CLERK, DISB, GEN, BOSS), "origination",
          count=_ledger, badge_posts=_posts(CLERK), testid="nav-ledger"),
    Entry("to_disburse", "loan-list", _("Ready to disburse"), _posts(DISB), "origination",
          suffix="?status=ready_to_disburse", count=_work_queue("ready_to_disburse")),
    # After disbursement
    Entry("collections", "collection-queue", _("Collection cases"), _posts(MKT, GEN, BOSS), "postloan",
          count=_collections, testid="nav-collections"),
    Entry("servicing", "postloan-pending", _("Servicing requests"), _posts(MKT, REV, APPR, DISB, GEN, BOSS), "postloan",
          count=_servicing, badge_posts=_posts(REV, DISB, GEN)),
    Entry("write_offs", "postloan-pending", _("Write-offs"), _posts(REV, APPR, GEN, BOSS), "postloan",
          suffix="#write-offs", count=_write_offs),
    Entry("grade_changes", "postloan-pending", _("Grade changes"), _posts(REV, GEN, BOSS), "postloan",
          suffix="#grade-changes", count=_grade_changes),
    Entry("monitoring", "monitoring-queue", _("Checks and signals"), _posts(MKT, GEN, REV), "postloan",
          count=_monitoring, testid="nav-monitoring"),
    Entry("check_register", "check-register", _("Check register"), _posts(GEN, BOSS), "postloan"),
    Entry("signals", "signal-dashboard", _("Early-warning signals"), _posts(GEN, BOSS), "postloan"),
    Entry("credit_queries", "credit-queries", _("Credit-bureau register"), _posts(MKT, INV, REV, GEN, BOSS),
          "postloan"),
    Entry("outbox", "notice-outbox", _("Reminders outbox"), _posts(MKT, GEN, BOSS), "postloan"),
    Entry("agencies", "collection-agencies", _("Collection agencies"), _posts(GEN, BOSS), "postloan"),
    Entry("agency_report", "agency-report", _("Monthly agency report"), _posts(GEN, BOSS), "postloan"),
    # Archive
    Entry("archive", "archive:queue", _("Archive queue"), _posts(ARCH, BOSS), "archive", count=_archive_queue,
          badge_posts=_posts(ARCH), testid="nav-archive"),
    Entry("folders", "archive:folder-list", _("Customer folders"), _posts(ARCH, BOSS, GEN), "archive"),
    Entry("vault", "archive:vault", _("Vault"), _posts(ARCH, BOSS), "archive"),
    Entry("lendings", "archive:lending-list", _("Loans-out"), _posts(ARCH, BOSS), "archive"),
    Entry("inspections", "archive:inspections", _("Inspections"), _posts(ARCH, BOSS), "archive"),
    Entry("archive_handovers", "archive:handovers", _("Archive transfers"), _posts(ARCH, BOSS), "archive"),
    Entry("destructions", "archive:destructions", _("Destructions"), _posts(ARCH, BOSS), "archive"),
    Entry("retention", "archive:retention", _("Retention periods"), _posts(ARCH, BOSS), "archive"),
    # Reports
    Entry("dashboard", "dashboard", _("Approval dashboard"), _posts(BOSS), "reports", testid="nav-dashboard"),
    Entry("classification", "classification-report", _("Five-level classification"), _posts(BOSS, GEN, ARCH),
          "reports"),
    Entry("report_loans", "report-loans", _("Loan drill-down"), _posts(BOSS), "reports"),
    Entry("warning_levels", "warning-levels", _("Warning levels"), _posts(BOSS), "reports"),
    Entry("officers", "officer-accountability", _("Officer accountability"), _posts(BOSS, GEN, MKT), "reports",
          testid="nav-officers"),
    Entry("validation", "validation-report", _("Scorecard validation"), _posts(BOSS, GEN), "reports",
          testid="nav-validation"),
    Entry("overrides", "rate-overrides", _("Rate-grid overrides per approver"), _posts(BOSS, GEN), "reports"),
    Entry("weekly", "weekly-reports", _("Weekly reports"), _posts(BOSS, GEN), "reports", testid="nav-weekly-reports"),
    # Administration
    Entry("staff_requests", "staff-requests", _("Staff requests"), _posts(GEN, BOSS), "admin",
          count=_staff_requests, testid="nav-staff-requests"),
    Entry("handovers", "handovers", _("Hand-overs"), _posts(GEN, BOSS), "admin", count=_handovers,
          testid="nav-handovers"),
    Entry("product_new", "product-create", _("New product"), _posts(GEN, BOSS), "admin"),
    Entry("scorecards", "scorecards", _("Scorecards"), _posts(GEN, BOSS), "admin", testid="nav-scorecards"),
    Entry("lpr", "lpr-register", _("LPR register"), ALL, "admin"),
    Entry("pii_views", "pii-views", _("Views of full ID numbers"), _posts(BOSS), "admin", testid="nav-pii-views"),
    Entry("downloads", "document-downloads", _("Opened documents"), _posts(BOSS), "admin",
          testid="nav-document-downloads"),
    Entry("admin", "admin:index", _("Administration site"), _posts(GEN, BOSS), "admin", testid="nav-admin"),
]


def entries_for(posts) -> list[Entry]:
    posts = frozenset(posts)
    return [entry for entry in MENU if entry.posts & posts]


def menu_for(posts) -> list[tuple[Section, list[Entry]]]:
    """The menu of a person holding ``posts``: the sections with at least one entry, each entry once."""
    mine = entries_for(posts)
    return [(s, [e for e in mine if e.section == s.code]) for s in SECTIONS if any(e.section == s.code for e in mine)]


@dataclass(frozen=True)
class Badge:
    entry: Entry
    n: int


def home_badges(user, *, work_queue: dict[str, int] | None = None, queues: list[dict] | None = None) -> list[Badge]:
    """A badge per queue of the reader's posts, with the number waiting in it (zero included: an empty queue is news
    too). ``work_queue``: the loan queue's counts by state, ``queues``: the home's registered queues
    (``loancenter.work.queues_for``), when the page has read them already."""
    posts = frozenset(user.posts)
    counts = Counts(user)
    if work_queue is not None:
        counts.memo("work_queue", lambda: work_queue)
    for queue in queues or ():
        counts.memo(f"queue:{queue['code']}", lambda n=queue["count"]: n)
    return [Badge(entry, entry.count(counts)) for entry in MENU if entry.shows_badge_to(posts)]


# ---------------------------------------------------------------------------------------------------------------
# The side menu: drawn once per language, set of posts and current page, then reused (it holds no count).

_DRAWN: dict[tuple, str] = {}
_MAX_DRAWN = 2000  # far above languages × post combinations × pages; a bound, not a tuning knob


def _current_key(request) -> str:
    """The URL name of the page (with its namespace)."""
    match = request.resolver_match
    if match is None:
        return ""
    return f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name


def _current_entry(entries: list[Entry], url_name: str, query: str) -> Entry | None:
    """The entry the page belongs to: the filtered list whose filter the address carries, else the page itself."""
    same_page = [e for e in entries if e.url_name == url_name and not e.suffix.startswith("#")]
    return (next((e for e in same_page if e.query and e.query == query), None)
            or next((e for e in same_page if not e.query), None))


def draw(request) -> str:
    posts = frozenset(request.user.posts)
    url_name = _current_key(request)
    filtered = {e.url_name for e in MENU if e.query}
    query = request.GET.urlencode() if url_name in filtered else ""
    key = (get_language(), posts, url_name, query)
    html = _DRAWN.get(key)
    if html is None:
        mine = entries_for(posts)
        current = _current_entry(mine, url_name, query)
        sections = [{"section": section, "items": [{"entry": e, "current": e is current} for e in entries]}
                    for section, entries in menu_for(posts)]
        html = render_to_string("includes/nav.html", {"sections": sections})
        if len(_DRAWN) < _MAX_DRAWN:
            _DRAWN[key] = html
    return html


def navigation(request) -> dict:
    """Context processor: the side menu, drawn only when a template prints it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"side_menu": SimpleLazyObject(lambda: draw(request))}
