"""Browser pages of the archive (档案管理岗). Thin: scope, a service call, a message, a redirect or a page.

A refused operation shows the service's own message (which rule, why); nothing was written.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from applications import listing
from applications.selectors import access_customer, access_loan
from archive import documents, selectors, services
from archive.forms import (
    BulkReceiveForm,
    DestructionApproveForm,
    HandoverForm,
    InspectionForm,
    LendingRequestForm,
    LocationForm,
    NoteForm,
    RangeForm,
    ReasonForm,
    ReceiveForm,
)
from archive.models import Destruction, Handover, Inspection, Lending, LoanFile
from archive.rules import DECIDING_POSTS
from loancenter import posts as P
from loancenter.auth import request_user
from loancenter.lib import inplace, params, versioning
from loancenter.lib.errors import DomainError
from loancenter.refusals import check_caller
from loancenter.rules import require_post

PAGE_SIZE = 50


def _folder_url(loan_file: LoanFile, anchor: str = "") -> str:
    url = reverse("archive:folder-detail", args=[loan_file.folder_id])
    return f"{url}#{anchor or f'loan-{loan_file.loan_id}'}"


def _back(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else fallback


def _run(request, fn, success: str, **kwargs) -> bool:
    """Call a service; show its refusal (or the form's first error) as a message. True when it worked."""
    try:
        fn(actor=request.user, **kwargs)
    except DomainError as error:
        messages.error(request, error.message)
        return False
    messages.success(request, success)
    return True


def _form_errors(request, form) -> None:
    for text in _error_texts(form):
        messages.error(request, text)


def _error_texts(form) -> list[str]:
    texts = []
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        texts += [f"{label}: {error}" if label else error for error in errors]
    return texts


def _attempt(fn, success: str, **kwargs) -> tuple[int, str]:
    """Call a service: (200, ``success``), or its refusal's status and message (nothing was written)."""
    return inplace.attempt(lambda: fn(**kwargs), success)


def _loan_file_context(request, loan_file: LoanFile) -> dict:
    """The loan file's section of the folder page, as the page shows it now (the fragment of issue 15 part 14)."""
    view = next((f for f in selectors.folder_loans(loan_file.folder, request.user) if f.loan_file.pk == loan_file.pk),
                None)
    if view is None:  # the loan left the reader's scope meanwhile
        raise Http404
    return {"f": view, "folder": loan_file.folder, "is_archivist": request.user.has_post(P.ARCHIVIST),
            "can_decide": request.user.has_any_post(*DECIDING_POSTS)}


def _answer(request, loan_file: LoanFile, status: int, text: str, back: str):
    """The outcome, as the loan file's section to an htmx request or as a message and a redirect without JavaScript;
    a refusal keeps its status."""
    return inplace.answer(request, status, text, back=back, template="archive/_loan_file.html",
                          context=lambda: _loan_file_context(request, loan_file))


# ---------------------------------------------------------------------------------------------------------------
# Queue, search, folders


def queue(request):
    """The archivist's work queue; its lists narrowed by the loan filters, sorted, exported (issue 15 part 12)."""
    require_post(request.user, P.ARCHIVIST, P.MANAGER)
    form = listing.LoanListForm(request.GET or None, user=request.user, default_sort=None)
    fmt = request.GET.get("format", "")
    if form.is_bound and not form.is_valid():
        return listing.bad_filter_response(form, fmt, lambda: render(request, "archive/queue.html", {
            "queue": selectors.ArchiveQueue([], [], [], [], [], [], [], []), "form": form}))
    rows = {name: form.apply(qs, path=selectors.QUEUE_PATHS[name])
            for name, qs in selectors.archive_queue_rows(request.user).items()}
    if fmt in listing.EXPORT_FORMATS:
        return listing.sections_response(fmt, "archive-queue", _queue_sections(rows))
    return render(request, "archive/queue.html", {
        "queue": selectors.archive_queue(request.user, rows=rows), "form": form, "kept": listing.kept_query(request),
    })


def _queue_sections(rows) -> list:
    """The archive queue's lists as the export writes them: which list, what, and its date."""
    def lending(row):
        return f"{row.lending_no or ''} · {row.item.label}", row.due_on

    return [
        listing.Section(_("Overdue returns"), rows["overdue"], lending),
        listing.Section(_("Documents to receive"), rows["to_receive"], lambda f: (f.folder.folder_no, None)),
        listing.Section(_("Lending requests to decide"), rows["pending_lendings"], lending),
        listing.Section(_("Approved, to hand out"), rows["approved_lendings"], lending),
        listing.Section(_("Past retention"), rows["destructions_due"], lambda i: (i.label, None),
                        path=selectors.QUEUE_PATHS["destructions_due"]),
        listing.Section(_("Destruction proposals"), rows["destructions_proposed"],
                        lambda d: (d.item.label, d.proposed_at)),
        listing.Section(_("Settled files to close"), rows["files_to_close"], lambda f: (f.folder.folder_no, None)),
    ]


def folder_list(request):
    query = request.GET.get("q", "").strip()
    folders = selectors.folder_search(request.user, query)
    page = Paginator(folders, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "archive/folder_list.html", {"page": page, "q": query})


def folder_detail(request, pk: int):
    folder = selectors.access_folder(request.user, pk)
    files = selectors.folder_loans(folder, request.user)
    is_archivist = request.user.has_post(P.ARCHIVIST)
    return render(request, "archive/folder_detail.html", {
        "folder": folder, "files": files, "is_archivist": is_archivist,
        "can_decide": request.user.has_any_post(*DECIDING_POSTS),
        "receive_form": ReceiveForm(), "request_form": LendingRequestForm(),
    })


@require_POST
def folder_open(request, customer_id: int):
    customer = access_customer(request.user, customer_id)
    try:
        folder = services.folder_open(customer_id=customer.pk, actor=request.user)
    except DomainError as error:
        raise PermissionDenied(error.message) from None
    messages.success(request, _("Folder %(no)s of %(name)s is open.") % {"no": folder.folder_no, "name": customer.name})
    return redirect("archive:folder-detail", folder.pk)


def loan_archive(request, pk: int):
    """From a loan to its place in the archive (the archivist may open the folder from here)."""
    loan = access_loan(request.user, pk)
    loan_file = LoanFile.objects.filter(loan=loan).first()
    if loan_file is not None:
        return redirect(_folder_url(loan_file))
    return render(request, "archive/no_folder.html", {
        "loan": loan, "can_open": request.user.has_post(P.ARCHIVIST) and services.archivable(loan),
    })


# ---------------------------------------------------------------------------------------------------------------
# Checklist items and the vault


@require_POST
def item_receive(request, pk: int):
    item = selectors.access_item(request.user, pk)
    check_caller(services.item_receive, request.user, loan_id=item.loan_file.loan_id)  # the post before the input
    form = ReceiveForm(request.POST)
    if form.is_valid():
        status, text = _attempt(services.item_receive, _("“%(item)s” ticked as received.") % {"item": item.label},
                                actor=request.user, item_id=item.pk, **form.cleaned_data)
    else:
        status, text = 400, "; ".join(_error_texts(form))
    return _answer(request, item.loan_file, status, text, _back(request, _folder_url(item.loan_file, f"item-{item.pk}")))


@require_POST
def items_receive_bulk(request, pk: int):
    """Tick the items chosen on one loan's checklist at once, as originals (or copies), pages from their scans."""
    loan_file = get_object_or_404(LoanFile.objects.select_related("loan", "folder"), pk=pk)
    access_loan(request.user, loan_file.loan_id)
    check_caller(services.items_receive_bulk, request.user, loan_id=loan_file.loan_id)
    form = BulkReceiveForm(request.POST)
    if not form.is_valid():
        return _answer(request, loan_file, 400, "; ".join(_error_texts(form)), _folder_url(loan_file))
    ids = [i for i in (params.parse_id(raw) for raw in request.POST.getlist("items")) if i is not None]
    status, text = _attempt(services.items_receive_bulk, _("%(n)s items ticked as received.") % {"n": len(ids)},
                            actor=request.user, loan_file_id=loan_file.pk, item_ids=ids, **form.cleaned_data)
    return _answer(request, loan_file, status, text, _folder_url(loan_file))


@require_POST
def item_unreceive(request, pk: int):
    item = selectors.access_item(request.user, pk)
    check_caller(services.item_unreceive, request.user, loan_id=item.loan_file.loan_id)
    form = ReasonForm(request.POST)
    if form.is_valid():
        status, text = _attempt(services.item_unreceive,
                                _("The tick of “%(item)s” was withdrawn.") % {"item": item.label},
                                actor=request.user, item_id=item.pk, reason=form.cleaned_data["reason"])
    else:
        status, text = 400, "; ".join(_error_texts(form))
    return _answer(request, item.loan_file, status, text, _back(request, _folder_url(item.loan_file, f"item-{item.pk}")))


@require_POST
def vault_move(request, pk: int):
    item = selectors.access_item(request.user, pk)
    check_caller(services.vault_move, request.user, loan_id=item.loan_file.loan_id)
    form = LocationForm(request.POST)
    if form.is_valid():
        _run(request, services.vault_move, _("“%(item)s” moved to %(loc)s.") % {"item": item.label,
                                                                                 "loc": form.cleaned_data["location"]},
             item_id=item.pk, location=form.cleaned_data["location"])
    else:
        _form_errors(request, form)
    return redirect(_back(request, reverse("archive:vault")))


def vault(request):
    require_post(request.user, P.ARCHIVIST, P.MANAGER)
    query = request.GET.get("q", "").strip()
    # The loan filters, sort and export (issue 15 part 12); without a sort, the vault's order (by location).
    form = listing.LoanListForm(request.GET or None, user=request.user, default_sort=None,
                                own_order=_("By location"))
    fmt = request.GET.get("format", "")
    context = {"q": query, "is_archivist": request.user.has_post(P.ARCHIVIST), "form": form,
               "kept": listing.kept_query(request), "carry": [("q", query)] if query else []}
    if form.is_bound and not form.is_valid():
        return listing.bad_filter_response(form, fmt, lambda: render(request, "archive/vault.html",
                                                                     {**context, "page": []}))
    items = form.apply(listing.in_scope(selectors.vault_items(query), request.user, path="loan_file__loan__"),
                       path="loan_file__loan__")
    if fmt in listing.EXPORT_FORMATS:
        return listing.sections_response(fmt, "vault", [listing.Section(
            _("Vault"), items, lambda i: (f"{i.location} · {i.label}", i.received_on), path="loan_file__loan__")])
    return render(request, "archive/vault.html", {**context,
                                                  "page": Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))})


@require_POST
def file_complete(request, pk: int):
    loan_file = get_object_or_404(LoanFile, pk=pk)
    access_loan(request.user, loan_file.loan_id)
    _run(request, services.loan_file_complete,
         _("The file of loan %(loan)s is complete and closed.") % {"loan": loan_file.loan}, loan_file_id=loan_file.pk)
    return redirect(_folder_url(loan_file))


# ---------------------------------------------------------------------------------------------------------------
# Lending-out


def lending_new(request, item_pk: int):
    item = selectors.access_item(request.user, item_pk)
    form = LendingRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                lending = services.lending_request(item_id=item.pk, actor=request.user, **form.cleaned_data)
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("Request %(no)s filed; it waits for approval by someone else.")
                                 % {"no": lending.lending_no})
                return redirect("archive:lending-list")
        status = 400
    return render(request, "archive/lending_form.html", {"item": item, "form": form}, status=status)


def lending_list(request):
    lendings = selectors.lendings_visible_to(request.user)
    status = request.GET.get("status", "")
    if status == "overdue":
        lendings = lendings.filter(pk__in=selectors.overdue_lendings().values("pk"))
    elif status in dict(Lending.STATUSES):
        lendings = lendings.filter(status=status)
    # The loan filters, sort and export (issue 15 part 12), prefixed: ``status`` is the lending's own.
    form = listing.LoanListForm(request.GET or None, user=request.user, default_sort=None, prefix="loan",
                                own_order=_("Latest request first"))
    fmt = request.GET.get("format", "")
    filters = {"form": form, "kept": listing.kept_query(request), "carry": [("status", status)] if status else []}
    if form.is_bound and not form.is_valid():
        return listing.bad_filter_response(form, fmt, lambda: render(request, "archive/lending_list.html", {
            **filters, "page": [], "status": status, "statuses": Lending.STATUSES, "range": RangeForm()}))
    lendings = form.apply(lendings.order_by("-requested_at", "-id"), path="loan__")
    if fmt in listing.EXPORT_FORMATS:
        statuses = dict(Lending.STATUSES)
        return listing.sections_response(fmt, "lendings", [listing.Section(_("Lending-out register"), lendings, lambda x: (
            f"{x.lending_no or ''} · {x.item.label} · {statuses.get(x.status, x.status)}", x.due_on))])
    page = Paginator(lendings, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "archive/lending_list.html", {
        **filters, "page": page, "status": status, "statuses": Lending.STATUSES, "range": RangeForm(),
        "is_archivist": request.user.has_post(P.ARCHIVIST), "can_decide": request.user.has_any_post(*DECIDING_POSTS),
        "overdue_ids": set(selectors.overdue_lendings().values_list("pk", flat=True)),
    })


_LENDING_ACTIONS = {
    "approve": (services.lending_approve, NoteForm, lambda d: {"note": d["note"]}, gettext_lazy("Request %(no)s approved.")),
    "refuse": (services.lending_refuse, NoteForm, lambda d: {"note": d["note"]}, gettext_lazy("Request %(no)s refused.")),
    "out": (services.lending_out, NoteForm, lambda d: {}, gettext_lazy("%(no)s: the file is out.")),
    "return": (services.lending_return, NoteForm, lambda d: {"note": d["note"]}, gettext_lazy("%(no)s: the file is back.")),
}


@require_POST
def lending_action(request, pk: int, action: str):
    if action not in _LENDING_ACTIONS:
        raise Http404
    lending = get_object_or_404(Lending, pk=pk)
    service, form_class, args, done = _LENDING_ACTIONS[action]
    access_loan(request.user, lending.loan_id, action=service.action)
    check_caller(service, request.user, loan_id=lending.loan_id)
    form = form_class(request.POST)
    if form.is_valid():
        status, text = _attempt(service, str(done) % {"no": lending.lending_no}, actor=request.user,
                                lending_id=lending.pk, version=versioning.expected_version(request, request.POST),
                                **args(form.cleaned_data))
    else:
        status, text = 400, "; ".join(_error_texts(form))
    # To htmx: the register's line, as it is now, with the outcome (issue 15 part 14).
    return inplace.answer(request, status, text, back=_back(request, reverse("archive:lending-list")),
                          template="archive/_lending_row.html", context=lambda: _lending_row_context(request, lending))


def _lending_row_context(request, lending: Lending) -> dict:
    line = Lending.objects.select_related("loan__customer", "item", "requester", "decided_by").get(pk=lending.pk)
    return {"l": line, "is_archivist": request.user.has_post(P.ARCHIVIST),
            "can_decide": request.user.has_any_post(*DECIDING_POSTS),
            "overdue_ids": set(selectors.overdue_lendings().filter(pk=lending.pk).values_list("pk", flat=True))}


# ---------------------------------------------------------------------------------------------------------------
# Inspection and hand-over registers


def inspections(request):
    require_post(request.user, *DECIDING_POSTS)
    form = InspectionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.inspection_record(actor=request.user, **form.cleaned_data)
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("Inspection recorded."))
                return redirect("archive:inspections")
        status = 400
    rows = Inspection.objects.select_related("inspector", "recorded_by")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "archive/inspections.html", {"form": form, "page": page}, status=status)


def handovers(request):
    require_post(request.user, P.ARCHIVIST, P.MANAGER)
    is_archivist = request.user.has_post(P.ARCHIVIST)
    form = HandoverForm(request.POST or None, user=request.user) if is_archivist else None
    status = 200
    if request.method == "POST":
        require_post(request.user, P.ARCHIVIST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                handover = services.handover_record(
                    actor=request.user, to_user=data["to_user"], handed_on=data["handed_on"],
                    folder_ids=[f.pk for f in data["folders"]], note=data["note"],
                )
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("%(n)s folders handed over to %(name)s; they confirm on their queue.")
                                 % {"n": handover.folders.count(), "name": handover.to_user.display})
                return redirect("archive:handovers")
        status = 400
    rows = Handover.objects.select_related("from_user", "to_user").prefetch_related("folders")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "archive/handovers.html", {"form": form, "page": page}, status=status)


@require_POST
def handover_confirm(request, pk: int):
    handover = get_object_or_404(Handover, pk=pk)
    _run(request, services.handover_confirm, _("Hand-over confirmed; the folders are now in your keeping."),
         handover_id=handover.pk)
    return redirect(_back(request, reverse("archive:handovers")))


# ---------------------------------------------------------------------------------------------------------------
# Retention and destruction


def destructions(request):
    require_post(request.user, P.ARCHIVIST, P.MANAGER)
    # The loan filters, sort and export of both lists (issue 15 part 12), within the reader's scope.
    form = listing.LoanListForm(request.GET or None, user=request.user, default_sort=None)
    fmt = request.GET.get("format", "")
    context = {"form": form, "kept": listing.kept_query(request), "retention": selectors.retention_table(),
               "approve_form": DestructionApproveForm(), "range": RangeForm()}
    if form.is_bound and not form.is_valid():
        return listing.bad_filter_response(form, fmt, lambda: render(request, "archive/destructions.html", {
            **context, "page": [], "due": []}))
    path = selectors.QUEUE_PATHS["destructions_due"]
    due = form.apply(listing.in_scope(selectors.items_due_for_destruction(), request.user, path=path), path=path)
    rows = form.apply(listing.in_scope(Destruction.objects.select_related(
        "item__loan_file__folder", "loan__customer", "proposed_by", "decided_by", "witness"), request.user),
        path="loan__")
    if fmt in listing.EXPORT_FORMATS:
        statuses = dict(Destruction.STATUSES)
        return listing.sections_response(fmt, "destructions", [
            listing.Section(_("Past their retention period"), due, lambda i: (i.label, None), path=path),
            listing.Section(_("Destruction register"), rows, lambda d: (
                f"{d.item.label} · {statuses.get(d.status, d.status)}", d.retention_until)),
        ])
    return render(request, "archive/destructions.html", {
        **context, "page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")), "due": due[:PAGE_SIZE],
        "is_archivist": request.user.has_post(P.ARCHIVIST), "can_decide": request.user.has_any_post(*DECIDING_POSTS),
    })


@require_POST
def destruction_propose(request, item_pk: int):
    item = selectors.access_item(request.user, item_pk)
    check_caller(services.destruction_propose, request.user, loan_id=item.loan_file.loan_id)
    form = ReasonForm(request.POST)
    if form.is_valid():
        _run(request, services.destruction_propose,
             _("Destruction of “%(item)s” proposed; a second person must approve it.") % {"item": item.label},
             item_id=item.pk, reason=form.cleaned_data["reason"])
    else:
        _form_errors(request, form)
    return redirect(_back(request, reverse("archive:destructions")))


@require_POST
def destruction_decide(request, pk: int, action: str):
    """Approve (and record the destruction) or refuse a proposal: from the register's line with htmx, the line comes
    back as it is now with the outcome (issue 15 part 14); without JavaScript, a message and the register."""
    destruction = get_object_or_404(Destruction, pk=pk)
    if action not in ("approve", "refuse"):
        raise Http404
    check_caller(services.destruction_approve, request.user, loan_id=destruction.loan_id)
    version = versioning.expected_version(request, request.POST)
    if action == "approve":
        form = DestructionApproveForm(request.POST)
        done = _("Destroyed and recorded in the destruction register.")

        def call():
            services.destruction_approve(actor=request.user, destruction_id=destruction.pk, version=version,
                                         **form.cleaned_data)
    else:
        form = ReasonForm(request.POST)
        done = _("Destruction refused.")

        def call():
            services.destruction_refuse(actor=request.user, destruction_id=destruction.pk, version=version,
                                        reason=form.cleaned_data["reason"])
    if form.is_valid():
        status, text = inplace.attempt(call, done)
    else:
        status, text = 400, "; ".join(_error_texts(form))
    return inplace.answer(request, status, text, back=_back(request, reverse("archive:destructions")),
                          template="archive/_destruction_row.html",
                          context=lambda: _destruction_row_context(request, destruction.pk))


def _destruction_row_context(request, pk: int) -> dict:
    line = Destruction.objects.select_related("item__loan_file__folder", "loan__customer", "proposed_by",
                                              "decided_by", "witness").get(pk=pk)
    return {"d": line, "approve_form": DestructionApproveForm(), "is_archivist": request.user.has_post(P.ARCHIVIST),
            "can_decide": request.user.has_any_post(*DECIDING_POSTS)}


# ---------------------------------------------------------------------------------------------------------------
# PDFs: session or API token, like every PDF address (SPEC §8)


def _request_user(request):
    user = request_user(request)
    if user is None:
        if request.headers.get("Authorization"):
            return None, HttpResponse(status=401)
        return None, redirect_to_login(request.get_full_path())
    return user, None


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def checklist_pdf(request, pk: int):
    user, refusal = _request_user(request)
    if refusal:
        return refusal
    loan = access_loan(user, pk)
    content = documents.checklist_pdf(loan)
    return _pdf(content, f"checklist-{loan.archive_file.folder.folder_no}-{loan.application_no}.pdf")


def _register_pdf(render_fn, name: str):
    def view(request):
        user, refusal = _request_user(request)
        if refusal:
            return refusal
        if not user.has_any_post(P.ARCHIVIST, P.MANAGER):
            raise PermissionDenied(_("The registers are for the archivist and the center manager."))
        start, end = RangeForm(request.GET or None).range()
        return _pdf(render_fn(start, end), f"{name}-{start.isoformat()}-{end.isoformat()}.pdf")

    view.login_exempt = True  # authenticated above: session or token
    return view


checklist_pdf.login_exempt = True
lending_register_pdf = _register_pdf(documents.lending_register_pdf, "lending-register")
destruction_register_pdf = _register_pdf(documents.destruction_register_pdf, "destruction-register")


def retention(request):
    return render(request, "archive/retention.html", {"rows": selectors.retention_table()})
