"""The one error type for business refusals.

Services raise :class:`DomainError`; the browser maps it to a form message and the API to a JSON body
``{"code": ..., "detail": ...}`` with the error's HTTP status. The message is already in the reader's
language (it is built with gettext in the request's active language).
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, code: str, message: str, *, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = str(message)
        self.field = field

    def as_dict(self) -> dict:
        body = {"code": self.code, "detail": self.message}
        if self.field:
            body["field"] = self.field
        return body


class RuleViolation(DomainError):
    """A business rule of SPEC §3 refuses the operation (400)."""

    status = 400


class Forbidden(DomainError):
    """The caller's post does not allow the operation (403)."""

    status = 403


class SeparationOfDuty(Forbidden):
    """SPEC §4: the same person may not hold two conflicting roles on one loan (403)."""

    def __init__(self, message: str):
        super().__init__("separation_of_duty", message)


class InvalidState(DomainError):
    """The transition is not allowed from the loan's current state (409)."""

    status = 409

    def __init__(self, message: str):
        super().__init__("invalid_state", message)


class OutOfScope(DomainError):
    """The object exists outside the reader's data scope (SPEC §4): answered as a plain 404, recorded as a refusal."""

    status = 404

    def __init__(self, message: str):
        super().__init__("out_of_scope", message)


class Conflict(DomainError):
    status = 409


class Unavailable(DomainError):
    """A service the operation needs (the task queue) is down; nothing was changed (503)."""

    status = 503
