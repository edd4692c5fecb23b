"""Browser pages after disbursement: collection queues and cases, servicing requests, write-offs, grade changes.

Thin views: ``access_loan`` for scope (404 outside it), the inputs of ``postloan.forms`` parsed once, the service,
then render or redirect. A ``DomainError`` is shown with its own message.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError as InputError

from applications.input_forms import describe, post_data
from applications.listing import (
    EXPORT_FORMATS,
    LoanListForm,
    Section,
    bad_filter_response,
    export_response,
    in_scope,
    kept_query,
    sections_response,
)
from applications.models import Collateral
from applications.selectors import access_loan, unit_scope
from loancenter import posts as P
from loancenter.lib import export, inplace, versioning
from loancenter.lib.dates import today
from loancenter.lib.errors import DomainError
from loancenter.refusals import check_caller
from postloan import agencies as agency_ops
from postloan import collateral as collateral_ops
from postloan import collections, forms, grades, servicing, write_off
from postloan.models import (
    GRADE_CHOICES,
    AgencyAssignment,
    CollectionAgency,
    CollectionCase,
    CreditQuery,
    EscalationTask,
    GradeChange,
    PostLoanCheck,
    ServicingRequest,
    WriteOff,
)
from postloan.rules import default_contact_time
from postloan.selectors import loan_postloan_context, pending_for

SR = ServicingRequest


def _form_page(request, *, input_cls, title: str, loan, call, done: str, back: str, initial: dict | None = None,
               intro: str = "", service=None, adjust=None):
    """One page with one form built from a DRF input; POST parses it and calls ``call(validated_data)``.

    ``service``: the caller's post is checked against it before the input is parsed (SPEC §16.2); ``adjust(rows)``
    fills in what the input cannot know (the options of a list field)."""
    serializer = input_cls()
    values, field_errors, error, status = dict(initial or {}), {}, None, 200
    if request.method == "POST":
        values = post_data(serializer, request.POST)
        parsed = input_cls(data=values)
        try:
            if service is not None:
                check_caller(service, request.user, loan_id=loan.pk if loan is not None else None)
            parsed.is_valid(raise_exception=True)
            call(dict(parsed.validated_data))
        except InputError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            field_errors = {k: v if isinstance(v, list) else [v] for k, v in detail.items()}
            error, status = _("Please correct the fields marked below."), 400
        except ValidationError as exc:
            field_errors = exc.message_dict if hasattr(exc, "error_dict") else {}
            error, status = "; ".join(exc.messages), 400
        except DomainError as exc:
            error, status = exc.message, exc.status
            if exc.field:
                field_errors = {exc.field: [exc.message]}
        else:
            messages.success(request, done)
            return redirect(back)
    rows = describe(serializer, values, field_errors)
    if adjust is not None:
        adjust(rows)
    return render(request, "postloan/form.html", {
        "title": title, "loan": loan, "rows": rows, "error": error, "back": back, "intro": intro,
    }, status=status)


def _post_action(request, call, *, input_cls, done: str, back: str, service=None, loan_id: int | None = None,
                 template: str | None = None, context=None):
    """A small form on a detail page (approve, reject, done…): errors come back as a message on that page.

    ``service``: the caller's post is checked against it before the input is parsed (SPEC §16.2). ``template`` and
    ``context()``: for a request from htmx (issue 15 part 14), the part of the page the decision changed, answered
    with the outcome instead of the message and the redirect (``inplace.answer``); the same ``call`` runs either way."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if service is not None:
        check_caller(service, request.user, loan_id=loan_id)  # a wrong post: the 403 page, whatever it sent
    parsed = input_cls(data=post_data(input_cls(), request.POST))
    try:
        parsed.is_valid(raise_exception=True)
        data = dict(parsed.validated_data)
        if "version" in request.POST:  # the version of the request the page showed (rule 22)
            data["version"] = versioning.expected_version(request, request.POST)
        call(data)
    except InputError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {"": exc.detail}
        status, text = 400, "; ".join(f"{k}: {v[0] if isinstance(v, list) else v}" for k, v in detail.items())
    except DomainError as exc:
        status, text = exc.status, exc.message
    else:
        status, text = 200, done
    return inplace.answer(request, status, text, back=back, template=template, context=context)


# ---------------------------------------------------------------------------------------------------------------
# Collections


def collection_queue(request):
    if not request.user.has_any_post(P.MARKETING, P.GENERAL, P.MANAGER):
        raise PermissionDenied(_("The collection queues belong to marketing, the general post and the manager."))
    # Filters, sorting and export of the queue's loans (issue 15 part 12); without a sort chosen, the queue's order.
    form = LoanListForm(request.GET or None, user=request.user, default_sort=None)
    fmt = request.GET.get("format", "")
    if form.is_bound and not form.is_valid():
        if fmt in ("csv", "xlsx"):
            return HttpResponse(form.errors_text(), status=400, content_type="text/plain; charset=utf-8")
        return render(request, "postloan/queue.html", {"cases": [], "form": form}, status=400)
    cases = form.apply(collections.collection_queue(request.user), path="loan__")
    if fmt in ("csv", "xlsx"):
        return export_response(fmt, "collection-queue", cases, path="loan__")
    kept = request.GET.copy()
    kept.pop("format", None)
    return render(request, "postloan/queue.html", {"cases": list(cases[:500]), "form": form, "kept": kept.urlencode()})


def _case(request, pk: int) -> CollectionCase:
    case = get_object_or_404(CollectionCase.objects.select_related("owner"), pk=pk)
    case.loan = access_loan(request.user, case.loan_id)
    return case


def _contact_rows(case, values: dict, errors: dict) -> list[dict]:
    """The contact form's controls (issue 15, part 9), the same whether the form is new or shown again after a
    refusal: the time as a local ``datetime-local`` value, the loan's guarantors and the whitelisted agencies as
    selects, with what was entered kept."""
    values = dict(values)
    contacted_at = values.get("contacted_at")
    if isinstance(contacted_at, str):
        parsed = parse_datetime(contacted_at.strip()) if contacted_at.strip() else None
        contacted_at = parsed or contacted_at
    if hasattr(contacted_at, "strftime"):
        moment = timezone.localtime(contacted_at) if timezone.is_aware(contacted_at) else contacted_at
        values["contacted_at"] = moment.strftime("%Y-%m-%dT%H:%M")
    rows = describe(forms.CollectionActionInput(), values, errors)
    chosen = {name: str(values.get(name) or "") for name in ("guarantor", "agency")}
    for row in rows:
        if row["name"] == "contacted_at":
            row["kind"] = "datetime-local"
            row["value"] = values.get("contacted_at") or ""
        if row["name"] == "guarantor":
            row.update(kind="select", options=[(str(g.pk), g.customer.name, str(g.pk) == chosen["guarantor"])
                                               for g in case.loan.guarantors.select_related("customer")])
        if row["name"] == "agency":
            row.update(kind="select", options=[(str(a.pk), a.name, str(a.pk) == chosen["agency"])
                                               for a in CollectionAgency.objects.filter(active=True)])
    return rows


def _case_extras(case) -> dict:
    """The case page's agency assignments (with what each recovered) and the debtor's assessments (issue 18 part 6)."""
    assignments = list(case.assignments.select_related("agency", "assigned_by", "recalled_by"))
    for a in assignments:
        a.recovered = agency_ops.recovered_by(a)
    files = case.loan.files.filter(state="active").order_by("code", "-version")
    assess_rows = describe(forms.AssessmentInput(), {}, {})
    for row in assess_rows:
        if row["name"] == "evidence":
            row.update(kind="select", options=[(str(f.pk), f"{f.label} v{f.version} · {f.name}", False) for f in files])
    assign_rows = describe(forms.AssignmentInput(), {"assigned_on": today()}, {})
    for row in assign_rows:
        if row["name"] == "agency":
            row.update(kind="select", options=[(str(a.pk), a.name, False)
                                               for a in CollectionAgency.objects.filter(active=True)])
    return {"assignments": assignments,
            "open_assignment": next((a for a in assignments if a.recalled_on is None), None),
            "assign_rows": assign_rows, "assess_rows": assess_rows,
            "assessments": case.assessments.select_related("evidence", "assessed_by")}


def _contact_defaults(case) -> dict:
    # Part 9: a permitted time (never inside 22:00–08:00), by the rule that refuses the forbidden window.
    return {"contacted_at": default_contact_time(timezone.now()), "target": "borrower",
            "phone": case.loan.customer.phone}


def case_detail(request, pk: int):
    case = _case(request, pk)
    back = reverse("collection-case", args=[case.pk])
    if request.method == "POST" and request.htmx:
        return _case_log_in_place(request, case)
    values = _contact_defaults(case)
    errors: dict = {}
    error, status = None, 200
    if request.method == "POST":
        check_caller(collections.collection_action_log, request.user, loan_id=case.loan.pk)  # the post first
        serializer = forms.CollectionActionInput()
        values = post_data(serializer, request.POST)
        parsed = forms.CollectionActionInput(data=values)
        try:
            parsed.is_valid(raise_exception=True)
            collections.collection_action_log(case_id=case.pk, actor=request.user, **dict(parsed.validated_data))
        except InputError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            errors = {k: v if isinstance(v, list) else [v] for k, v in detail.items()}
            error, status = _("Please correct the fields marked below."), 400
        except DomainError as exc:
            error, status = exc.message, exc.status
            if exc.field:
                errors = {exc.field: [exc.message]}
        else:
            messages.success(request, _("Collection action logged."))
            return redirect(back)
    # After a refusal the case page comes back whole: its context, and the form with its widgets and entries.
    extras = _case_extras(case)
    return render(request, "postloan/case_detail.html", {
        "case": case, "loan": case.loan, "rows": _contact_rows(case, values, errors), "error": error,
        "actions": case.actions.select_related("actor", "agency", "guarantor__customer"),
        "tasks": case.tasks.select_related("done_by"), "overdue": collections.overdue_amounts(case.loan),
        **extras,
    }, status=status)


def _case_log_in_place(request, case) -> HttpResponse:
    """A contact logged from the case page with htmx (issue 15 part 14): the same service as the form without
    JavaScript; the answer is the page's log and form (``postloan/_case_log.html``): the new line and a fresh form
    when it worked, the entries kept with the refusal beside them when it did not."""
    check_caller(collections.collection_action_log, request.user, loan_id=case.loan.pk)  # the post first
    values = post_data(forms.CollectionActionInput(), request.POST)
    parsed = forms.CollectionActionInput(data=values)
    errors: dict = {}
    try:
        parsed.is_valid(raise_exception=True)
        collections.collection_action_log(case_id=case.pk, actor=request.user, **dict(parsed.validated_data))
    except InputError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        errors = {k: v if isinstance(v, list) else [v] for k, v in detail.items()}
        status, text = 400, _("Please correct the fields marked below.")
    except DomainError as exc:
        status, text = exc.status, exc.message
        if exc.field:
            errors = {exc.field: [exc.message]}
    else:
        status, text, values = 200, _("Collection action logged."), _contact_defaults(case)
    return inplace.answer(request, status, text, back=reverse("collection-case", args=[case.pk]),
                          template="postloan/_case_log.html", context=lambda: {
                              "case": case, "loan": case.loan, "rows": _contact_rows(case, values, errors),
                              "actions": case.actions.select_related("actor", "agency", "guarantor__customer")})


def case_assign(request, pk: int):
    case = _case(request, pk)
    return _form_page(request, input_cls=forms.AssignmentInput, title=_("Assign the case to an agency"), loan=case.loan,
                      call=lambda d: agency_ops.agency_assign(case_id=case.pk, actor=request.user,
                                                              agency_id=d.pop("agency").pk, **d),
                      done=_("Case assigned to the agency."), back=reverse("collection-case", args=[case.pk]),
                      service=agency_ops.agency_assign)


def assignment_recall(request, pk: int):
    item = get_object_or_404(AgencyAssignment, pk=pk)
    access_loan(request.user, item.loan_id, action=agency_ops.agency_recall.action)
    return _post_action(request, lambda d: agency_ops.agency_recall(assignment_id=item.pk, actor=request.user, **d),
                        input_cls=forms.RecallInput, done=_("Case recalled from the agency."),
                        back=reverse("collection-case", args=[item.case_id]), service=agency_ops.agency_recall,
                        loan_id=item.loan_id)


def case_assess(request, pk: int):
    case = _case(request, pk)

    def call(data):
        agency_ops.debtor_assess(case_id=case.pk, actor=request.user, stance=data["stance"],
                                 evidence_id=data.get("evidence"), note=data.get("note", ""))

    return _post_action(request, call, input_cls=forms.AssessmentInput, done=_("The debtor's stance is recorded."),
                        back=reverse("collection-case", args=[case.pk]), service=agency_ops.debtor_assess,
                        loan_id=case.loan_id)


def agency_report(request):
    """The monthly agency report: per agency, cases assigned, recalled and held, and what was recovered while they
    held the loans (``?month=YYYY-MM``; ``&format=xlsx`` for Excel)."""
    if not request.user.has_any_post(P.GENERAL, P.MANAGER):
        raise PermissionDenied(_("The agency report is for the general post and the manager."))
    on = today()
    year, month = on.year, on.month
    text = request.GET.get("month") or ""
    if text:
        try:
            year, month = (int(x) for x in text.split("-"))
            agency_ops.month_bounds(year, month)
            if not 2000 <= year <= on.year + 1:
                raise ValueError
        except ValueError:
            messages.warning(request, _("%(m)s is not a month (YYYY-MM); showing this month.") % {"m": text[:20]})
            year, month = on.year, on.month
    lines = agency_ops.monthly_report(year, month, unit=unit_scope(request.user, "loan__"))
    label = f"{year:04d}-{month:02d}"
    if request.GET.get("format") == "xlsx":
        return export.xlsx_response(f"agencies-{label}.xlsx", str(_("Agency report")), _agency_rows(lines, label))
    return render(request, "postloan/agency_report.html", {"lines": lines, "month": label})


def _agency_rows(lines, label: str):
    yield [_("Agency report"), label]
    yield [_("Agency"), _("Cases held during the month"), _("Assigned in the month"), _("Recalled in the month"),
           _("Held at the month end"), _("Overdue taken over"), _("Payments received"), _("Recovered in the month"),
           _("Recovery rate")]
    for line in lines:
        yield [line.agency.name, line.active, line.assigned, line.recalled, line.held, line.overdue_assigned,
               line.payments, line.recovered, line.recovery_rate]


def task_done(request, pk: int):
    task = get_object_or_404(EscalationTask, pk=pk)
    access_loan(request.user, task.loan_id)
    return _post_action(request, lambda d: collections.escalation_task_done(task_id=task.pk, actor=request.user, **d),
                        input_cls=forms.NoteInput, done=_("Task marked done."), back=reverse("collection-case", args=[task.case_id]),
                        service=collections.escalation_task_done, loan_id=task.loan_id)


def agencies(request):
    if not request.user.has_any_post(P.GENERAL, P.MANAGER):
        raise PermissionDenied(_("The agency whitelist is kept by the general post and the manager."))
    if request.method == "POST":
        agency_id = request.POST.get("agency_id") or None

        def call(data):
            collections.agency_save(actor=request.user, agency_id=agency_id, **data)

        return _post_action(request, call, input_cls=forms.AgencyInput, done=_("Agency saved."), back=reverse("collection-agencies"))
    return render(request, "postloan/agencies.html", {
        "agencies": CollectionAgency.objects.all(), "rows": describe(forms.AgencyInput(), {"active": True}, {}),
    })


# ---------------------------------------------------------------------------------------------------------------
# The loan's post-loan page


def loan_page(request, pk: int):
    loan = access_loan(request.user, pk)
    post_loan_checks = (PostLoanCheck.objects.filter(loan=loan).select_related("owner", "completed_by")
                        .prefetch_related(Prefetch("credit_queries", CreditQuery.objects.select_related("customer")))
                        .order_by("-due_on", "-id"))
    collaterals = list(loan.collaterals.all())
    values = {c.pk: collateral_ops.current_value(c) for c in collaterals}
    for c in collaterals:
        c.current_value = values[c.pk]
    return render(request, "postloan/loan.html", {
        "loan": loan, "post_loan_checks": post_loan_checks, "collaterals": collaterals,
        "ltv": collateral_ops.loan_to_value(loan, values) if collaterals else None,
        "revaluations": collateral_ops.revaluations_of(loan),
        "can_revalue": loan.status == "active" and (request.user.has_any_post(P.GENERAL, P.MANAGER)
                                                     or loan.marketing_officer_id == request.user.pk),
        **loan_postloan_context(loan, request.user)})


def collateral_revalue(request, pk: int):
    collateral = get_object_or_404(Collateral, pk=pk)
    loan = access_loan(request.user, collateral.loan_id, action=collateral_ops.collateral_revalue.action)
    files = loan.files.filter(state="active").order_by("code", "-version")

    def offer_files(rows: list[dict]) -> None:
        for row in rows:
            if row["name"] == "document":
                row.update(kind="select", options=[("", "—", False)] + [
                    (str(f.pk), f"{f.label} v{f.version} · {f.name}", str(f.pk) == str(row.get("value") or ""))
                    for f in files])

    return _form_page(
        request, input_cls=forms.RevaluationInput, title=_("Revalue the collateral: %(c)s") % {"c": collateral.description},
        loan=loan, initial={"valued_on": today()}, adjust=offer_files, service=collateral_ops.collateral_revalue,
        call=lambda d: collateral_ops.collateral_revalue(collateral_id=collateral.pk, actor=request.user,
                                                         document_id=d.pop("document", None), **d),
        done=_("Revaluation recorded."), back=reverse("postloan-loan", args=[loan.pk]),
        intro=_("Upload the valuation report to the loan's files first (collateral revaluation report)."))


def servicing_file(request, pk: int, kind: str):
    loan = access_loan(request.user, pk)
    labels = dict(SR.KINDS)
    if kind not in labels:
        raise Http404

    def call(data):
        changes = {k: data.pop(k) for k in list(data) if k in forms.BORROWER_INPUTS and data[k] not in (None, "")}
        for k in list(data):
            if k in forms.BORROWER_INPUTS:
                data.pop(k)
        if kind == SR.BORROWER:
            data["changes"] = changes
        servicing.servicing_file(loan_id=loan.pk, actor=request.user, kind=kind, **data)

    return _form_page(request, input_cls=forms.servicing_input_for(kind), title=str(labels[kind]), loan=loan, call=call,
                      done=_("Request filed; it waits for a reviewer."), back=reverse("postloan-loan", args=[loan.pk]),
                      service=servicing.servicing_file)


def servicing_list(request):
    """The requests, write-offs and grade changes waiting for the reader, each list kept to the loans they may see
    (as the menu's badges count them), narrowed by the loan filters, sorted and exported (issue 15 part 12)."""
    form = LoanListForm(request.GET or None, user=request.user, default_sort=None,
                        own_order=_("Oldest request first"))
    fmt = request.GET.get("format", "")
    if form.is_bound and not form.is_valid():
        return bad_filter_response(form, fmt, lambda: render(request, "postloan/pending.html", {
            "requests": [], "write_offs": [], "grade_changes": [], "form": form}))
    lists = {name: form.apply(in_scope(rows, request.user), path="loan__")
             for name, rows in pending_for(request.user).items()}
    if fmt in EXPORT_FORMATS:
        kinds, statuses = export.labels(SR.KINDS), export.labels(SR.STATUSES)
        wo_statuses, grades = export.labels(WriteOff.STATUSES), export.labels(GRADE_CHOICES)
        return sections_response(fmt, "pending-requests", [
            Section(_("Servicing requests"), lists["requests"],
                    lambda r: (f"{kinds.get(r.kind, r.kind)} · {statuses.get(r.status, r.status)}", r.filed_at)),
            Section(_("Write-offs"), lists["write_offs"],
                    lambda w: (wo_statuses.get(w.status, w.status), w.proposed_at)),
            Section(_("Grade changes"), lists["grade_changes"],
                    lambda g: (f"{grades.get(g.from_grade, g.from_grade)} → {grades.get(g.to_grade, g.to_grade)}",
                               g.proposed_at)),
        ])
    return render(request, "postloan/pending.html", {**lists, "form": form, "kept": kept_query(request)})


def _servicing_context(request, pk: int) -> dict:
    item = get_object_or_404(SR.objects.select_related("filed_by", "reviewed_by", "executed_by"), pk=pk)
    item.loan = access_loan(request.user, item.loan_id)
    quote = servicing.payoff_quote(item.loan, today()) if item.kind == SR.PREPAY_FULL and item.status != SR.EXECUTED else None
    plan = servicing.plan_preview(item, today())
    result = {k: v for k, v in item.result.items() if k not in ("replaced", "closed")}
    return {
        "item": item, "loan": item.loan, "quote": quote, "plan": plan, "result": result,
        "execute_rows": describe(forms.ExecuteInput(), {"paid_on": today()}, {}),
    }


def servicing_detail(request, pk: int):
    return render(request, "postloan/servicing_detail.html", _servicing_context(request, pk))


def servicing_action(request, pk: int, action: str):
    item = get_object_or_404(SR, pk=pk)
    calls = {
        "approve": (servicing.servicing_approve, forms.OptionalNoteInput, _("Request approved.")),
        "reject": (servicing.servicing_reject, forms.NoteInput, _("Request rejected.")),
        "execute": (servicing.servicing_execute, forms.ExecuteInput, _("Prepayment posted.")),
    }
    if action not in calls:
        raise Http404
    service, input_cls, done = calls[action]
    access_loan(request.user, item.loan_id, action=service.action)

    return _post_action(request, lambda d: service(request_id=item.pk, actor=request.user, **d), input_cls=input_cls,
                        done=done, back=reverse("servicing-detail", args=[item.pk]), service=service, loan_id=item.loan_id,
                        template="postloan/_servicing_body.html", context=lambda: _servicing_context(request, item.pk))


# ---------------------------------------------------------------------------------------------------------------
# Write-off


def write_off_propose(request, pk: int):
    loan = access_loan(request.user, pk)
    return _form_page(
        request, input_cls=forms.WriteOffInput, title=_("Propose a write-off"), loan=loan,
        call=lambda d: write_off.write_off_propose(loan_id=loan.pk, actor=request.user, reason=d["reason"],
                                                   legal_documents=sorted(d["legal_documents"])),
        done=_("Write-off proposed; it waits for review."), back=reverse("postloan-loan", args=[loan.pk]),
        service=write_off.write_off_propose,
    )


def _write_off_context(request, pk: int) -> dict:
    item = get_object_or_404(WriteOff.objects.select_related("proposed_by", "reviewed_by", "approved_by", "rejected_by"), pk=pk)
    item.loan = access_loan(request.user, item.loan_id)
    labels = dict(WriteOff.LEGAL_DOCUMENTS)
    return {
        "item": item, "loan": item.loan, "documents": [labels.get(c, c) for c in item.legal_documents],
        "recoveries": item.recoveries.select_related("recorded_by"), "recovered": write_off.recovered_total(item),
        "recovery_rows": describe(forms.RecoveryInput(), {"recovered_on": today()}, {}),
    }


def write_off_detail(request, pk: int):
    return render(request, "postloan/write_off_detail.html", _write_off_context(request, pk))


def write_off_action(request, pk: int, action: str):
    item = get_object_or_404(WriteOff, pk=pk)
    back = reverse("write-off-detail", args=[item.pk])
    calls = {
        "review": (forms.OptionalNoteInput, write_off.write_off_review, _("Write-off reviewed.")),
        "approve": (forms.OptionalNoteInput, write_off.write_off_approve, _("Write-off approved.")),
        "reject": (forms.NoteInput, write_off.write_off_reject, _("Write-off rejected.")),
        "recovery": (forms.RecoveryInput, write_off.recovery_record, _("Recovery recorded.")),
    }
    if action not in calls:
        raise Http404
    input_cls, service, done = calls[action]
    access_loan(request.user, item.loan_id, action=service.action)
    target = {"loan_id": item.loan_id} if action == "recovery" else {"write_off_id": item.pk}

    return _post_action(request, lambda d: service(**target, actor=request.user, **d), input_cls=input_cls, done=done,
                        back=back, service=service, loan_id=item.loan_id, template="postloan/_write_off_body.html",
                        context=lambda: _write_off_context(request, item.pk))


# ---------------------------------------------------------------------------------------------------------------
# Grade changes


def grade_change_propose(request, pk: int):
    loan = access_loan(request.user, pk)
    return _form_page(
        request, input_cls=forms.GradeChangeInput, title=_("Change the five-level grade"), loan=loan,
        call=lambda d: grades.grade_change_propose(loan_id=loan.pk, actor=request.user, **d),
        done=_("Grade change recorded (a better grade waits for a second person's approval)."),
        back=reverse("postloan-loan", args=[loan.pk]),
        intro=_("A worse grade applies at once and stays as a floor; a better one needs a second person's approval."),
        service=grades.grade_change_propose,
    )


def grade_change_action(request, pk: int, action: str):
    item = get_object_or_404(GradeChange, pk=pk)
    calls = {
        "approve": (grades.grade_change_approve, forms.OptionalNoteInput, _("Grade change approved.")),
        "reject": (grades.grade_change_reject, forms.NoteInput, _("Grade change rejected.")),
    }
    if action not in calls:
        raise Http404
    service, input_cls, done = calls[action]
    loan = access_loan(request.user, item.loan_id, action=service.action)

    return _post_action(request, lambda d: service(change_id=item.pk, actor=request.user, **d), input_cls=input_cls,
                        done=done, back=reverse("postloan-loan", args=[item.loan_id]), service=service, loan_id=item.loan_id,
                        template="postloan/_grade_changes.html",
                        context=lambda: {"loan": loan, **loan_postloan_context(loan, request.user)})
