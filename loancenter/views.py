"""Center-wide pages: login, the work queue (home) and the manager's approval dashboard."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from applications import listing
from applications.models import Status
from applications.selectors import QUEUE_FIELDS, with_age, work_queue, work_queue_counts, work_queue_page
from loancenter import posts as P
from loancenter.auth import address_throttled, client_address, refused_as_throttled
from loancenter.lib import params
from loancenter.lib.errors import DomainError
from loancenter.menu import home_badges
from loancenter.rules import require_post
from loancenter.selectors import BOOK_STATES, approval_dashboard
from loancenter.work import queues_for
from review.selectors import flag_over_limit


class LoginForm(AuthenticationForm):
    """Django's login form. A wrong password, an unknown username, an inactive account and a username locked from
    this address all get the same message (SPEC §10: no way to tell them apart); a throttled address is told so,
    since that says nothing about any account."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Wrong username or password. After repeated failures, logins from your address are "
                           "refused for a while, even with the right password."),
        "throttled": _("Too many failed logins from your address. Try again in %(minutes)s minutes."),
    }

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            wait = address_throttled(client_address(self.request)) if refused_as_throttled(self.request) else 0
            if wait:
                raise forms.ValidationError(self.error_messages["throttled"], code="throttled",
                                            params={"minutes": (wait + 59) // 60}) from None
            raise


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "throttled"):
            response.status_code = 429
        return response


QUEUE_PAGE_SIZE = 50


def home(request):
    """My work queue: a badge per queue of my posts (issue 15: collections, servicing, the archive… counted within my
    scope, each linking to its page), then the loans waiting for my action, oldest first, 50 a page; the cards count
    the whole loan queue. The queue's sorting, filters and export (issue 15 part 12, ``applications.listing``):
    without any filter or sort the page reads the queue as before (its counts are its pages); with them, the queue
    narrowed and counted once more."""
    form = listing.LoanListForm(request.GET or None, user=request.user)
    fmt = request.GET.get("format", "")
    if form.is_bound and not form.is_valid():
        return listing.bad_filter_response(form, fmt, lambda: render(request, "loancenter/home.html", {
            "form": form, "loans": [], "page": None, "total": 0, "summary": [], "queues": [], "badges": [],
            "filtered": True}))
    if fmt in listing.EXPORT_FORMATS:
        return listing.export_response(fmt, "work-queue", form.apply(work_queue(request.user)))
    by_status = work_queue_counts(request.user)
    summary = [(value, label, by_status[value]) for value, label in Status.choices if by_status.get(value)]
    total = sum(by_status.values())
    filtered = form.active or (form.is_bound and form.cleaned_data.get("sort") not in ("", None, "waiting"))
    if filtered:
        rows = form.apply(work_queue(request.user)).only(*QUEUE_FIELDS)
        page = Paginator(rows, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
        loans = list(page.object_list)
    else:
        # The pages of the counted queue (the cards' counts add up to it: no second count), then the page's loans.
        page = Paginator(range(total), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
        loans = work_queue_page(request.user, offset=page.object_list.start, limit=len(page.object_list))
    labels = dict(Status.choices)  # once a page: get_status_display() hashes every state's label for each row
    for loan in loans:
        loan.status_label = labels[loan.status]
    queues = queues_for(request.user)  # the post-loan panel's counts are the monitoring badge's too (one count each)
    return render(request, "loancenter/home.html", {
        "loans": flag_over_limit(with_age(loans), request.user), "page": page, "total": total,
        "summary": summary, "queues": queues, "form": form, "filtered": filtered, "kept": listing.kept_query(request),
        "badges": home_badges(request.user, work_queue=by_status, queues=queues),
    })


def monitoring_figures() -> dict:
    """Post-loan monitoring on the dashboard (issue 18): overdue checks, open signals by level and the restructured
    loans (three queries)."""
    from postloan.checks import overdue_checks
    from postloan.reports import restructured_figures
    from postloan.signals import level_counts

    return {"overdue_checks": overdue_checks().count(), "signals": level_counts(),
            "restructured": restructured_figures()}


def snapshot_of(figures) -> dict:
    """What the dashboard's snapshot figures are as of: the snapshot's day and, when the latest batch is that day's
    finished one, when it finished. ``taken`` is false when no snapshot of that day exists (the book's counts are then
    counted live: ``loancenter.selectors.loans_per_status``). One query."""
    from postloan.models import BatchRun, DailySnapshot

    day = figures.as_of
    if day is None:
        return {"day": None, "finished_at": None, "taken": False}
    run = figures.batch
    finished_at = run.finished_at if run is not None and run.as_of == day and run.status == BatchRun.DONE else None
    return {"day": day, "finished_at": finished_at, "taken": DailySnapshot.objects.filter(as_of=day).exists()}


def dashboard(request):
    """The center manager's dashboard (SPEC §1 manager, rule 12; issue 6): queues, figures, warnings, trends."""
    from postloan import warnings
    from postloan.report_views import cut_text, dimension_filters
    from postloan.reports import PERIOD_DAYS, cut_figures, dimension_filter, portfolio, today_activity, trend_charts

    try:
        require_post(request.user, P.MANAGER)  # a superuser too: the flag holds no post's powers (SPEC §16.14)
    except DomainError as error:
        raise PermissionDenied(error.message) from None
    # A date or period the figures cannot be about is ignored, with a word why (SPEC §10: never a 500).
    try:
        as_of = params.parse_as_of(request.GET.get("as_of"))
    except ValueError as error:
        messages.warning(request, str(error))
        as_of = None
    try:
        period = params.parse_int(request.GET.get("period"), low=1, high=params.MAX_PERIOD_DAYS, default=PERIOD_DAYS)
    except ValueError as error:
        messages.warning(request, str(error))
        period = PERIOD_DAYS
    dimensions, f, problem = dimension_filters(request, request.user)
    if problem:
        messages.warning(request, problem)
        f = {"unit": [] if request.user.in_center else [request.user.unit_id]}
    where = dimension_filter(f)
    # Every figure says what it is as of (issue 15 part 3): "live" ones are counted now from the rows, snapshot ones
    # are the nightly batch's figures of their day.
    context = {"dimensions": dimensions, "cut": cut_text(dimensions) if not problem else "",
               "now": timezone.localtime(), "today_activity": today_activity()}
    if where is None:  # the whole center: the figures of the nightly snapshot
        figures = portfolio(as_of, period)
        board = approval_dashboard(snapshot_day=figures.as_of)  # the book's counts come from that day's snapshot
        levels = warnings.current_levels()
        checked = warnings.evaluate(figures, levels)
        context.update({"portfolio": figures, "warnings": checked, "breached": [w for w in checked if w.breached],
                        "charts": trend_charts(figures.trend, levels), "snapshot": snapshot_of(figures)})
    else:  # a cut (a sub-center's manager sees their unit's): counted live from its loans (SPEC §13)
        board = approval_dashboard(as_of=as_of, where=where)
        context["cut_figures"] = cut_figures(where)
    with_age(board.pending)
    # Whole center: the book's states (active and after) come from the snapshot, the pipeline's are live.
    from_snapshot = set(BOOK_STATES) if context.get("snapshot", {}).get("taken") else set()
    counts = [(value, label, board.counts.get(value, 0), value in from_snapshot) for value, label in Status.choices]
    return render(request, "loancenter/dashboard.html", {
        **context, "board": board, "counts": counts, "total": sum(board.counts.values()),
        "live_total": sum(n for value, _label, n, snap in counts if not snap),
        "snapshot_total": sum(n for value, _label, n, snap in counts if snap),
        "notice_days": settings.DECISION_NOTICE_WORKING_DAYS,
        "escalated": sum(1 for loan in board.pending if loan.status == Status.PENDING_BRANCH_APPROVAL),
        "monitoring": monitoring_figures(),
    })
