"""Every refusal is recorded with its loan (SPEC §4, §10): one decorator for every operation that can refuse.

A refusal (403, 409, a 400 from a rule) changes nothing, so it cannot live in the audit trail: it is kept as a
``RefusedAttempt`` (actor, action, loan, code, detail), written after the operation's transaction rolled back.

- ``@recorded("write_off_review", loan=("write_off_id", WriteOff), posts=(P.REVIEWER,))`` wraps a service. The
  loan is the ``loan_id`` keyword, or the ``loan_id`` of the row another keyword names (``loan=(keyword, Model)``,
  looked up only when the service refuses), or what the service noted with :func:`note_loan` as it found it.
  ``posts``: the posts that may call it at all, checked first, before anything the caller sent is looked at
  (SPEC §16.2); views ask :func:`check_caller` with the same posts before they parse the input.
- ``with recording(name, actor=…, loan_id=…):`` is the same for a block (the transition machinery uses it).
- Calls nest (a prepayment settles the loan through the ``settle`` transition): only the outermost operation
  records, once, under the action the person attempted; an inner refusal caught and handled is no refusal.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from loancenter.lib.errors import DomainError
from loancenter.models import RefusedAttempt
from loancenter.rules import require_post


@dataclass
class _Operation:
    loan_id: int | None = None


_LOAN_ROUTE = re.compile(r"(^|/)\^?loans/(<int:pk>|\(\?P<pk>)")
_current: ContextVar[_Operation | None] = ContextVar("refusal_operation", default=None)


def note_loan(loan_id: int | None) -> None:
    """The running operation concerns this loan (a service that finds its loan through another row says so)."""
    operation = _current.get()
    if operation is not None and operation.loan_id is None and loan_id is not None:
        operation.loan_id = loan_id


def record_refusal(*, actor, action: str, loan_id: int | None, error: DomainError) -> None:
    """Keep a refused attempt apart from the audit trail (which a refusal must leave as it was)."""
    if getattr(error, "recorded", False):
        return
    RefusedAttempt.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action[:64], loan_id_ref=_as_id(loan_id), code=error.code[:64], detail=error.message,
    )
    error.recorded = True


def _as_id(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if -(2**63) <= number < 2**63 else None


@contextmanager
def recording(action: str, *, actor, loan_id: int | None = None,
              loan_of: Callable[[], int | None] | None = None) -> Iterator[None]:
    """Run a block as one operation: a ``DomainError`` leaving it is recorded (once, by the outermost operation)."""
    outer = _current.get()
    if outer is not None:
        note_loan(loan_id)
        yield
        return
    operation = _Operation(loan_id=loan_id)
    token = _current.set(operation)
    try:
        yield
    except DomainError as error:
        if operation.loan_id is None and loan_of is not None:
            operation.loan_id = loan_of()
        if operation.loan_id is None:
            operation.loan_id = getattr(error, "loan_id", None)  # a refusal that names its loan (rule 23's freeze)
        record_refusal(actor=actor, action=action, loan_id=operation.loan_id, error=error)
        raise
    finally:
        _current.reset(token)


def _loan_finder(loan, kwargs: dict) -> Callable[[], int | None] | None:
    if loan is None:
        return None
    keyword, model = loan
    pk = _as_id(kwargs.get(keyword))
    if pk is None:
        return None
    return lambda: model.objects.filter(pk=pk).values_list("loan_id", flat=True).first()


def recorded(action: str, *, loan: tuple[str, type] | None = None, posts: tuple[str, ...] = ()):
    """Decorate a service (keyword arguments, ``actor`` among them) so that its refusals are recorded with the loan."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            actor = kwargs.get("actor")
            with recording(action, actor=actor, loan_id=_as_id(kwargs.get("loan_id")),
                           loan_of=_loan_finder(loan, kwargs)):
                if posts:
                    require_post(actor, *posts)
                return fn(*args, **kwargs)

        wrapper.action, wrapper.posts = action, tuple(posts)
        return wrapper

    return decorate


def check_caller(service, actor, *, loan_id: int | None = None) -> None:
    """The caller holds one of the posts ``service`` is for (403, recorded) — asked before its input is parsed."""
    with recording(service.action, actor=actor, loan_id=loan_id):
        if service.posts:
            require_post(actor, *service.posts)


def record_unrecorded(request, error: DomainError) -> None:
    """A refusal that reached a surface without passing a recorded operation (a page's or endpoint's own post check):
    recorded under the view's name, with the loan when the address names one (``…loans/<pk>/…``)."""
    if getattr(error, "recorded", False):
        return
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", "") or ""
    loan_id = match.kwargs.get("pk") if match is not None and _LOAN_ROUTE.search(route) else None
    user = getattr(request, "user", None)
    record_refusal(actor=user if getattr(user, "is_authenticated", False) else None,
                   action=(getattr(match, "url_name", None) or request.path)[:64], loan_id=loan_id, error=error)
