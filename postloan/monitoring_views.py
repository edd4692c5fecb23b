"""Browser pages of post-loan monitoring (issue 18): the post's queue of checks and signals, the check register and its
export, a check's report form, raising and closing signals, the signal dashboard with drill-down, the credit-bureau
register, the outbox and the letters (rendered when opened).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from rest_framework import serializers

from applications.listing import (
    EXPORT_FORMATS,
    LoanListForm,
    Section,
    bad_filter_response,
    in_scope,
    kept_query,
    sections_response,
)
from applications.selectors import access_customer, access_loan, loans_visible_to
from loancenter import posts as P
from loancenter.lib import export
from loancenter.lib.dates import today
from loancenter.lib.money import q2
from loancenter.refusals import check_caller
from loancenter.rules import require_post
from postloan import bureau, checks, notices, signals
from postloan.monitoring_apis import CreditQueryInput, ProofInput, SignalCloseInput
from postloan.monitoring_models import LEVELS, CreditQuery, Notice, PostLoanCheck, Signal, SignalType
from postloan.views import _form_page

REGISTER_POSTS = (P.MANAGER, P.GENERAL)


@login_required
def monitoring_queue(request):
    """The post's queue: its open checks (overdue first), its open signals, and a reviewer's sign-offs; each list
    narrowed by the loan filters, sorted and exported (issue 15 part 12, ``applications.listing``)."""
    user = request.user
    form = LoanListForm(request.GET or None, user=user, default_sort=None, own_order=_("Due date first"))
    fmt = request.GET.get("format", "")
    context = {"today": today(), "checks": [], "signals": [], "signoffs": [], "promises": [], "form": form,
               "kept": kept_query(request)}
    if form.is_bound and not form.is_valid():
        return bad_filter_response(form, fmt, lambda: render(request, "postloan/monitoring_queue.html", context))

    def narrow(rows):
        return form.apply(rows, path="loan__")

    lists = {}
    if user.has_any_post(P.MARKETING, P.GENERAL):
        lists["checks"] = narrow(checks.open_checks_for(user))
        lists["signals"] = narrow(signals.open_signals_for(user))
    if user.has_post(P.REVIEWER):
        lists["signoffs"] = narrow(in_scope(checks.signoff_queue(), user))  # as the menu's badge counts it
    if fmt in EXPORT_FORMATS:
        return sections_response(fmt, "checks-and-signals", _monitoring_sections(user, lists, narrow))
    if "checks" in lists:
        context["checks"] = list(lists["checks"][:500])
        context["signals"] = list(lists["signals"][:500])
        context["promises"] = signals.promises_due(user, today(), narrow=narrow)
    if "signoffs" in lists:
        context["signoffs"] = list(lists["signoffs"][:200])
    for signal in context["signals"]:
        signal.name = signals.name_of(signal.code)
        signal.action = signals.action_of(signal.code)
    return render(request, "postloan/monitoring_queue.html", context)


def _monitoring_sections(user, lists: dict, narrow) -> list[Section]:
    """The queue's lists as the export writes them: which list, what (a check's kind, a signal's name), its date."""
    kinds = export.labels(PostLoanCheck.KINDS)
    sections = []
    if "checks" in lists:
        sections += [
            Section(_("My checks"), lists["checks"], lambda c: (kinds.get(c.kind, c.kind), c.due_on)),
            Section(_("My signals"), lists["signals"], lambda s: (signals.name_of(s.code), s.deadline)),
            Section(_("Promises to pay"), narrow(signals.promises_rows(user, today())),
                    lambda a: (f"{_('Promised amount')} {q2(a.promise_amount or 0):,.2f}", a.promise_date)),
        ]
    if "signoffs" in lists:
        sections.append(Section(_("Checks waiting for your sign-off"), lists["signoffs"],
                                lambda c: (kinds.get(c.kind, c.kind), c.completed_at)))
    return sections


def _register_rows(qs):
    kinds, statuses, conclusions = (export.labels(PostLoanCheck.KINDS), export.labels(PostLoanCheck.STATUSES),
                                    export.labels(PostLoanCheck.CONCLUSIONS))
    yield [_("Loan"), _("Borrower"), _("Kind"), _("Due on"), pgettext("person responsible", "Owner"), _("Status"), _("Conclusion"),
           _("Days overdue"), _("Completed at")]
    day = today()
    for c in qs.iterator(chunk_size=2000):
        overdue = (day - c.due_on).days if c.status == PostLoanCheck.OPEN and c.due_on < day else 0
        yield [c.loan.application_no or str(c.loan_id), c.loan.customer.name, kinds.get(c.kind, c.kind), c.due_on,
               c.owner.display if c.owner else str(P.POST_LABELS.get(c.owner_post, c.owner_post)),
               statuses.get(c.status, c.status), conclusions.get(c.conclusion, ""), overdue, c.completed_at]


@login_required
def check_register(request):
    """The register of post-loan checks (manager, general): filters and CSV / Excel export."""
    require_post(request.user, *REGISTER_POSTS)
    qs = PostLoanCheck.objects.select_related("loan", "loan__customer", "owner").order_by("due_on", "id")
    overdue = request.GET.get("overdue") == "1"
    if overdue:
        qs = qs.filter(status=PostLoanCheck.OPEN, due_on__lt=today())
    kind = request.GET.get("kind", "")
    if kind in dict(PostLoanCheck.KINDS):
        qs = qs.filter(kind=kind)
    # The loan filters and sort (issue 15 part 12) narrow the register within the reader's scope (a sub-center's
    # manager: their unit's loans).
    form = LoanListForm(request.GET or None, user=request.user, default_sort=None, own_order=_("Due date first"))
    fmt = request.GET.get("format", "")
    filters = {"form": form, "kept": kept_query(request),
               "carry": [(k, v) for k, v in (("overdue", "1" if overdue else ""), ("kind", kind)) if v]}
    if form.is_bound and not form.is_valid():
        return bad_filter_response(form, fmt, lambda: render(request, "postloan/check_register.html", {
            **filters, "checks": [], "overdue": overdue, "kind": kind, "kinds": PostLoanCheck.KINDS,
            "today": today()}))
    qs = form.apply(in_scope(qs, request.user), path="loan__")
    if fmt == "csv":
        return export.csv_response("post-loan-checks.csv", _register_rows(qs))
    if fmt == "xlsx":
        return export.xlsx_response("post-loan-checks.xlsx", str(_("Post-loan checks")), _register_rows(qs))
    return render(request, "postloan/check_register.html", {
        **filters, "checks": list(qs[:500]), "overdue": overdue, "kind": kind, "kinds": PostLoanCheck.KINDS, "today": today(),
        "overdue_count": checks.overdue_checks().count(),
    })


class CheckForm(serializers.Serializer):
    findings = serializers.CharField(label=gettext_lazy("Findings"), max_length=10_000,
                                     style={"base_template": "textarea.html"})
    borrower_situation = serializers.CharField(label=gettext_lazy("The borrower's situation"), max_length=10_000,
                                               required=False, allow_blank=True, style={"base_template": "textarea.html"})
    conclusion = serializers.ChoiceField(label=gettext_lazy("Conclusion"), choices=PostLoanCheck.CONCLUSIONS)
    signal_code = serializers.ChoiceField(label=gettext_lazy("Signal to raise (conclusion: raise a signal)"),
                                          choices=[], required=False, allow_blank=True)
    prohibited_use = serializers.ChoiceField(label=gettext_lazy("Prohibited use found (fund-use check)"),
                                             choices=[(u, u) for u in checks.PROHIBITED_USES], required=False,
                                             allow_blank=True)
    evidence = serializers.CharField(label=gettext_lazy("Evidence file (document reference)"), max_length=200,
                                     required=False, allow_blank=True)
    counterparty_name = serializers.CharField(label=gettext_lazy("Counterparty"), max_length=100, required=False,
                                              allow_blank=True)
    counterparty_account = serializers.CharField(label=gettext_lazy("Counterparty account"), max_length=34,
                                                 required=False, allow_blank=True)
    counterparty_bank = serializers.CharField(label=gettext_lazy("Counterparty bank"), max_length=100, required=False,
                                              allow_blank=True)
    pays_for = serializers.CharField(label=gettext_lazy("What the payment pays for"), max_length=200, required=False,
                                     allow_blank=True)
    credit_queries = serializers.ListField(label=gettext_lazy("Credit reports relied on"), required=False,
                                           child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
                                           max_length=50)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["signal_code"].choices = [(c, signals.name_of(c)) for c in
                                              SignalType.objects.order_by("code").values_list("code", flat=True)]


@login_required
def check_complete(request, pk: int):
    check = get_object_or_404(PostLoanCheck, pk=pk)
    loan = access_loan(request.user, check.loan_id, action=checks.check_complete.action)
    check_caller(checks.check_complete, request.user, loan_id=loan.pk)

    def call(data: dict) -> None:
        counterparty = {k: data.pop(k) for k in ("counterparty_name", "counterparty_account", "counterparty_bank",
                                                   "pays_for") if k in data}
        data["credit_query_ids"] = data.pop("credit_queries", [])
        checks.check_complete(check_id=check.pk, actor=request.user, counterparty=counterparty, **data)

    def offer_queries(rows: list[dict]) -> None:  # the register's queries on the borrower and the guarantors
        people = [loan.customer_id, *loan.guarantors.values_list("customer_id", flat=True)]
        options = [(str(q.pk), f"{q.queried_at:%Y-%m-%d} · {q.customer.name} · {q.get_purpose_display()}", False)
                   for q in CreditQuery.objects.filter(customer_id__in=people).select_related("customer")]
        for row in rows:
            if row["name"] == "credit_queries":
                row.update(kind="multiselect", options=options)

    return _form_page(request, input_cls=CheckForm, title=_("%(kind)s due %(due)s") % {
        "kind": check.get_kind_display(), "due": check.due_on}, loan=loan, call=call, done=_("Check completed."),
        back=reverse("monitoring-queue"), service=checks.check_complete, adjust=offer_queries,
        intro=_("Write down what you found; attach photos and papers through the loan's documents."))


class SignalForm(serializers.Serializer):
    code = serializers.ChoiceField(label=gettext_lazy("Signal"), choices=[])
    level = serializers.ChoiceField(label=gettext_lazy("Level (at least the catalogue's)"), choices=LEVELS,
                                    required=False, allow_blank=True)
    note = serializers.CharField(label=gettext_lazy("Note"), max_length=2000, required=False, allow_blank=True,
                                 style={"base_template": "textarea.html"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].choices = [(c, signals.name_of(c)) for c in
                                       SignalType.objects.order_by("code").values_list("code", flat=True)]


@login_required
def signal_raise(request, pk: int):
    loan = access_loan(request.user, pk, action=signals.signal_raise.action)
    check_caller(signals.signal_raise, request.user, loan_id=loan.pk)
    return _form_page(
        request, input_cls=SignalForm, title=_("Raise a signal"), loan=loan,
        call=lambda d: signals.signal_raise(loan_id=loan.pk, actor=request.user, code=d["code"],
                                            level=d.get("level") or None, note=d.get("note", "")),
        done=_("Signal raised."), back=reverse("monitoring-queue"), service=signals.signal_raise)


@login_required
def signal_close(request, pk: int):
    signal = get_object_or_404(Signal, pk=pk)
    loan = access_loan(request.user, signal.loan_id, action=signals.signal_close.action)
    check_caller(signals.signal_close, request.user, loan_id=loan.pk)
    return _form_page(request, input_cls=SignalCloseInput, title=_("Close the signal “%(name)s”") % {
        "name": signals.name_of(signal.code)}, loan=loan,
        call=lambda d: signals.signal_close(signal_id=signal.pk, actor=request.user, reason=d["reason"]),
        done=_("Signal closed."), back=reverse("monitoring-queue"), service=signals.signal_close)


@login_required
def signal_dashboard(request):
    """Open signals by level, product and officer (manager, general), with drill-down to the signals: the loan
    filters and sort of every loan list (issue 15 part 12; ``product`` and ``officer`` are theirs), plus the signal's
    own level and code; all within the reader's scope (a sub-center's manager: their unit's loans)."""
    require_post(request.user, *REGISTER_POSTS)
    open_signals = in_scope(Signal.objects.filter(status=Signal.OPEN), request.user)
    form = LoanListForm(request.GET or None, user=request.user, default_sort=None, own_order=_("Due date first"))
    fmt = request.GET.get("format", "")
    own = {}
    level, code = request.GET.get("level", ""), request.GET.get("code", "")
    if level:
        own["level"] = level
    if code:
        own["code"] = code[:40]
    if form.is_bound and form.is_valid() and level and level not in dict(LEVELS):
        form.add_error(None, "{}: {}".format(_("Level"), _(
            "Select a valid choice. %(value)s is not one of the available choices.") % {"value": level[:40]}))
    filters = {"form": form, "kept": kept_query(request), "carry": list(own.items())}
    if form.is_bound and not form.is_valid():
        return bad_filter_response(form, fmt, lambda: render(request, "postloan/signal_dashboard.html", {
            **filters, "levels": {}, "level_labels": dict(LEVELS), "rows": [], "filtered": True}))
    chosen = form.apply(open_signals.filter(**own), path="loan__").select_related(
        "loan", "loan__customer", "loan__product", "owner")
    if fmt in EXPORT_FORMATS:
        return sections_response(fmt, "signals", [Section(_("Open signals"), chosen, lambda s: (
            f"{signals.name_of(s.code)} · {dict(LEVELS).get(s.level, s.level)}", s.deadline))])
    rows = list(chosen[:500])
    for signal in rows:
        signal.name = signals.name_of(signal.code)
    return render(request, "postloan/signal_dashboard.html", {
        **filters, "levels": _level_counts(open_signals), "level_labels": dict(LEVELS),
        "by_product": list(open_signals.values("loan__product_id", "loan__product__name").annotate(n=Count("id"))
                           .order_by("-n")),
        "by_officer": list(open_signals.values("loan__marketing_officer_id", "loan__marketing_officer__username")
                           .annotate(n=Count("id")).order_by("-n")),
        "rows": rows, "filtered": bool(own) or form.active,
    })


def _level_counts(open_signals) -> dict[str, int]:
    counts = dict(open_signals.values_list("level").annotate(n=Count("id")).order_by())
    return {code: counts.get(code, 0) for code, _label in LEVELS}


@login_required
def credit_query_new(request, pk: int):
    customer = access_customer(request.user, pk)
    check_caller(bureau.credit_query_record, request.user)

    def call(data: dict) -> None:
        data["loan_id"] = data.pop("loan", None)
        bureau.credit_query_record(customer_id=customer.pk, actor=request.user, **data)

    def options(files, chosen) -> list[tuple[str, str, bool]]:
        return [(str(f.pk), _("%(paper)s v%(version)s · %(name)s · uploaded %(day)s%(loan)s") % {
            "paper": f.label, "version": f.version, "name": f.name,
            "day": timezone.localtime(f.uploaded_at).date().isoformat(),
            "loan": _(" · loan %(no)s") % {"no": f.loan.application_no or f.loan_id} if f.loan_id else ""},
            str(f.pk) == str(chosen or "")) for f in files]

    def offer_files(rows: list[dict]) -> None:  # the customer's current authorisations and reports the caller may see
        for row in rows:
            if row["name"] == "authorisation_document":
                files = bureau.authorisations(request.user, customer.pk)
                row.update(kind="select", required=True, label=_("Written authorisation (file)"),
                           options=options(files, row.get("value")),
                           help=_("The customer's current credit-report authorisation. Upload it to the customer's "
                                  "or the loan's files first if it is not listed.") if files else
                           _("No credit-report authorisation of this customer is on file: upload it to the "
                             "customer's or the loan's files first."))
            elif row["name"] == "report_document":
                files = bureau.reports(request.user, customer.pk)
                row.update(kind="select", required=False, label=_("Credit report (file)"),
                           options=options(files, row.get("value")),
                           help=_("Optional: the customer's current credit report, uploaded to the customer's or the "
                                  "loan's files. The summary alone is enough.") if files else
                           _("No credit report of this customer is on file; upload it to the customer's or the loan's "
                             "files to attach it, or write the summary alone."))

    return _form_page(request, input_cls=CreditQueryInput, title=_("Record a credit-bureau query: %(name)s") % {
        "name": customer.name}, loan=None, call=call, done=_("Query recorded."),
        back=reverse("credit-queries"), service=bureau.credit_query_record, adjust=offer_files,
        intro=_("A credit report is queried only with the customer's written authorisation."))


@login_required
def credit_queries(request):
    """The credit-bureau register; the manager sees the queries per officer over the last 30 days."""
    require_post(request.user, P.MANAGER, P.GENERAL, P.MARKETING, P.INVESTIGATOR, P.REVIEWER)
    end = today()
    start = end - timedelta(days=29)
    rows = CreditQuery.objects.select_related("customer", "queried_by", "authorisation_document",
                                              "report_document").order_by("-queried_at")
    if not request.user.has_any_post(P.MANAGER, P.GENERAL):
        rows = rows.filter(queried_by=request.user)
    return render(request, "postloan/credit_queries.html", {
        "rows": list(rows[:300]), "per_officer": bureau.queries_per_officer(start, end)
        if request.user.has_post(P.MANAGER) else None, "start": start, "end": end,
        "purposes": dict(CreditQuery.PURPOSES)})


@login_required
def fund_use_proof(request, pk: int):
    loan = access_loan(request.user, pk, action=checks.fund_use_proof_add.action)
    check_caller(checks.fund_use_proof_add, request.user, loan_id=loan.pk)
    return _form_page(request, input_cls=ProofInput, title=_("Record a proof of use"), loan=loan,
                      call=lambda d: checks.fund_use_proof_add(loan_id=loan.pk, actor=request.user, **d),
                      done=_("Proof recorded."), back=reverse("monitoring-queue"), service=checks.fund_use_proof_add)


@login_required
def outbox(request):
    """The outbox of reminders: queued, sent and failed (a loan's with ?loan=id)."""
    rows = Notice.objects.filter(loan__in=loans_visible_to(request.user)).select_related("loan")
    loan_id = request.GET.get("loan", "")
    if loan_id:
        if not (loan_id.isascii() and loan_id.isdigit() and len(loan_id) < 18):
            raise Http404
        rows = rows.filter(loan=access_loan(request.user, int(loan_id)))
    status = request.GET.get("status", "")
    if status in dict(Notice.STATUSES):
        rows = rows.filter(status=status)
    # The loan filters, sort and export (issue 15 part 12), prefixed: ``status`` is the notice's own.
    form = LoanListForm(request.GET or None, user=request.user, default_sort=None, prefix="loan",
                        own_order=_("Latest scheduled first"))
    fmt = request.GET.get("format", "")
    page = {"status": status, "statuses": Notice.STATUSES, "form": form, "kept": kept_query(request),
            "carry": [(k, request.GET[k]) for k in ("loan", "status") if request.GET.get(k)]}
    if form.is_bound and not form.is_valid():
        return bad_filter_response(form, fmt, lambda: render(request, "postloan/outbox.html", {**page, "rows": []}))
    rows = form.apply(rows.order_by("-scheduled_for", "-id"), path="loan__")
    if fmt in EXPORT_FORMATS:
        kinds, channels, statuses = (export.labels(Notice.KINDS), export.labels(Notice.CHANNELS),
                                     export.labels(Notice.STATUSES))
        return sections_response(fmt, "reminders", [Section(_("Reminders outbox"), rows, lambda n: (
            " · ".join((kinds.get(n.kind, n.kind), channels.get(n.channel, n.channel),
                        statuses.get(n.status, n.status))), n.scheduled_for))])
    return render(request, "postloan/outbox.html", {**page, "rows": list(rows[:300])})


@login_required
def letter_pdf(request, pk: int):
    """An overdue letter, rendered now (never in the batch); opening it marks it sent."""
    notice = get_object_or_404(Notice, pk=pk, channel=Notice.LETTER)
    loan = access_loan(request.user, notice.loan_id)
    require_post(request.user, P.MARKETING, P.GENERAL, P.MANAGER)
    from loancenter.lib.pdf import render_pdf

    notices.fill(notice)
    pdf = render_pdf("pdf/overdue_letter.html", {"notice": notice, "loan": loan, "customer": loan.customer,
                                                  "text": notices.text_of(notice), "today": today()})
    notices.letter_printed(notice=notice)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="letter-{notice.pk}.pdf"'
    return response
