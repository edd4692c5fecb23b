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

from applications.models import Status
from applications.selectors import work_queue_counts, work_queue_page
from loancenter import posts as P
from loancenter.auth import address_throttled, client_address, refused_as_throttled
from loancenter.lib import params
from loancenter.lib.errors import DomainError
from loancenter.rules import require_post
from loancenter.selectors import approval_dashboard

# A loan waiting longer than this in one state is shown in red on the queues.
STALE_AFTER_DAYS = 3


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


def _age(changed_at, now) -> tuple[int, int, bool]:
    """How long a loan has waited in its state: whole days, the hours beyond them, and whether it is stale."""
    waited = now - changed_at
    return waited.days, waited.seconds // 3600, waited.days >= STALE_AFTER_DAYS


def with_age(loans, now=None):
    """Annotate each loan with how long it has waited in its state (for the queue's age column)."""
    now = now or timezone.now()
    for loan in loans:
        loan.waited_days, loan.waited_hours, loan.stale = _age(loan.status_changed_at, now)
    return loans


QUEUE_PAGE_SIZE = 50


def home(request):
    """My work queue: the loans waiting for my action, oldest first, 50 a page; the cards count the whole queue."""
    by_status = work_queue_counts(request.user)
    summary = [(value, label, by_status[value]) for value, label in Status.choices if by_status.get(value)]
    # The pages of the counted queue (the cards' counts add up to it: no second count), then the page's loans.
    page = Paginator(range(sum(by_status.values())), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    loans = work_queue_page(request.user, offset=page.object_list.start, limit=len(page.object_list))
    return render(request, "loancenter/home.html", {
        "loans": with_age(loans), "page": page, "total": page.paginator.count,
        "summary": summary,
    })


def dashboard(request):
    """The center manager's dashboard (SPEC §1 manager, rule 12; issue 6): queues, figures, warnings, trends."""
    from postloan import warnings
    from postloan.reports import PERIOD_DAYS, portfolio, trend_charts

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
    figures = portfolio(as_of, period)
    board = approval_dashboard(snapshot_day=figures.as_of)  # the book's counts come from that day's snapshot
    checked = warnings.evaluate(figures)
    with_age(board.pending)
    counts = [(value, label, board.counts.get(value, 0)) for value, label in Status.choices]
    return render(request, "loancenter/dashboard.html", {
        "board": board, "counts": counts, "total": sum(board.counts.values()),
        "notice_days": settings.DECISION_NOTICE_WORKING_DAYS,
        "escalated": sum(1 for loan in board.pending if loan.status == Status.PENDING_BRANCH_APPROVAL),
        "portfolio": figures, "warnings": checked, "breached": [w for w in checked if w.breached],
        "charts": trend_charts(figures.trend),
    })
