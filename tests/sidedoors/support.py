"""Helpers of the side-door matrix: open a page as a person would and post its form back, and the two assertions of
every cell — the fact the rule reads is unchanged (or the rule was asked again), and the refusal is recorded."""

from __future__ import annotations

from django.urls import reverse

from applications.models import Loan
from loancenter.models import AuditEntry, RefusedAttempt
from tests.support.forms import rendered_form


def loan_facts(loan: Loan) -> dict:
    """The loan row, its people, rows and audit trail: what a refused step must leave as it was."""
    loan = Loan.objects.get(pk=loan.pk)
    return {
        "loan": Loan.objects.filter(pk=loan.pk).values().get(),
        "guarantors": list(loan.guarantors.order_by("pk").values()),
        "collaterals": list(loan.collaterals.order_by("pk").values()),
        "documents": list(loan.documents.order_by("pk").values_list("code", flat=True)),
        "audit": list(AuditEntry.objects.filter(loan=loan).values_list("pk", flat=True)),
    }


def refused(*, code: str, action: str | None = None, loan: Loan | None = None, actor=None) -> RefusedAttempt:
    """The newest refusal, asserted to be this one (its code, and the action, loan and actor when given)."""
    attempt = RefusedAttempt.objects.order_by("-id").first()
    assert attempt is not None, "no refusal recorded"
    got = {"code": attempt.code}
    want = {"code": code}
    if action is not None:
        got["action"], want["action"] = attempt.action, action
    if loan is not None:
        got["loan"], want["loan"] = attempt.loan_id_ref, loan.pk
    if actor is not None:
        got["actor"], want["actor"] = attempt.actor_id, actor.pk
    assert got == want, attempt.detail
    return attempt


def open_form(client, url: str, **which):
    """GET ``url`` as a browser and return the page and its form (``rendered_form``)."""
    page = client.get(url)
    assert page.status_code == 200, (page.status_code, url)
    return page, rendered_form(page.content, **which)


def open_step(client, loan: Loan, name: str) -> tuple[str, dict]:
    """Open a loan's step page (``/loans/{id}/do/{name}/``) as a browser: its address and the form's data."""
    url = f"/loans/{loan.pk}/do/{name}/"
    _page, form = open_form(client, url, testid="transition-form")
    return form.action or url, form.data


def post_step(client, opened: tuple[str, dict], **typed):
    """Submit a step's form opened with :func:`open_step`, with ``typed`` typed in."""
    url, data = opened
    data = dict(data)
    for key, value in typed.items():
        data[key] = value if isinstance(value, list) else [value]
    return client.post(url, data)


def step_page(client, loan: Loan, name: str, **typed):
    """Open a loan's step page, type ``typed`` into its form and submit it."""
    return post_step(client, open_step(client, loan, name), **typed)


def admin_form(client, model_admin_url: str, form_id: str, **typed):
    """Open an admin add or change form, type ``typed`` (a ``None`` value unticks a box) and submit it."""
    _page, form = open_form(client, model_admin_url, form_id=form_id)
    data = form.data
    for key, value in typed.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value if isinstance(value, list) else [value]
    return client.post(model_admin_url, data)


def admin_url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)
