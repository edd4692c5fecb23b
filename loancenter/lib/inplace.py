"""In-place actions (issue 15 part 14): one outcome, answered two ways.

A form that decides or records something carries ``hx-post`` to the same address as its ``action``. The view calls
the same service either way and hands the outcome — a status (200, or the refusal's 400/403/409) and the text a
person reads — to ``answer``:

- a request from htmx (``request.htmx``, django-htmx) gets the part of the page that changed, rendered from
  ``template`` with ``context()`` and the outcome as ``notice`` (``includes/inline_notice.html`` draws it), with the
  outcome's status: the ``htmx-config`` meta of ``base.html`` swaps 4xx answers, which carry the reason;
- any other request gets the outcome as a message and a redirect to ``back``, as without JavaScript.

``context`` is a callable: it runs only for htmx, after the service, so the fragment shows the page as it is now.
``attempt`` turns a service call into that outcome (a ``DomainError`` is its status and its message; nothing was
written, the service saw to that).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render

from loancenter.lib.errors import DomainError

OK = 200


def notice(status: int, text: str) -> dict:
    """What ``includes/inline_notice.html`` shows: the outcome's level and its text."""
    return {"level": "success" if status == OK else "error", "text": text}


def attempt(call: Callable[[], object], done: str) -> tuple[int, str]:
    """Run ``call``: (200, ``done``), or the refusal's status and message."""
    try:
        call()
    except DomainError as error:
        return error.status, error.message
    return OK, str(done)


def answer(request, status: int, text: str, *, back: str, template: str | None = None,
           context: Callable[[], dict] | None = None) -> HttpResponse:
    """The outcome as the changed part of the page to htmx, else as a message and a redirect to ``back`` (always so
    for an action without a fragment: ``template`` None)."""
    if template is not None and getattr(request, "htmx", False):
        shown = context() if context is not None else {}
        return render(request, template, {**shown, "notice": notice(status, text)}, status=status)
    (messages.success if status == OK else messages.error)(request, text)
    return redirect(back)
