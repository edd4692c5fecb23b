"""Optimistic concurrency (SPEC §10 rule 22, §16.13): every record a person edits carries a ``version``.

A form or an API client shows version N; saving is a compare-and-swap
``UPDATE … SET version = version + 1 WHERE pk = … AND version = N``: when someone else saved in between, no row
matches and the edit is refused with 409 ``stale_edit`` before anything is written, so nothing is lost.

- ``bump(instance, expected=…)`` is the one compare-and-swap every service calls when it is about to change a
  versioned record (under the row lock the service already holds); ``expected=None`` (an API client that sent no
  version) compares with the version just read, so the edit is applied as before.
- ``check(instance, expected)`` refuses a stale version where nothing is changed (an unchanged save with an old
  version must not pass silently either: the person was looking at old data).
- ``expected_version(request, data)`` reads what an API client sent: ``If-Match`` (the ETag of the GET) and/or a
  ``version`` field; ``etag(version)`` is the header value the GET answers with.
"""

from __future__ import annotations

import re

from django.db.models import F
from django.utils.translation import gettext as _

from loancenter.lib.errors import Conflict


class StaleEdit(Conflict):
    """Someone else saved the record after this person opened it (409 ``stale_edit``)."""

    def __init__(self, instance=None, *, what: str | None = None):
        label = what or (str(instance._meta.verbose_name) if instance is not None else _("This record"))
        super().__init__("stale_edit", _(
            "%(what)s has changed since you opened it: someone else saved it in the meantime. Nothing was saved. "
            "Open it again to see the current version and make your change there."
        ) % {"what": label[:1].upper() + label[1:]})


def check(instance, expected: int | None) -> None:
    """Refuse a stale version (``None``: the caller sent none, nothing to compare)."""
    if expected is not None and int(expected) != instance.version:
        raise StaleEdit(instance)


def bump(instance, *, expected: int | None = None) -> int:
    """Compare-and-swap the instance's version; refuse with ``StaleEdit`` when it moved. Returns the new version.

    The ``UPDATE … WHERE version = …`` is the check itself (not a read followed by a write), so it holds even
    for a caller that forgot to lock the row.
    """
    seen = instance.version if expected is None else int(expected)
    updated = type(instance)._base_manager.filter(pk=instance.pk, version=seen).update(version=F("version") + 1)
    if not updated:
        raise StaleEdit(instance)
    instance.version = seen + 1
    return instance.version


def etag(version: int) -> str:
    return f'"{version}"'


_ETAG = re.compile(r'^\s*(?:W/)?"?([^",\s]*)"?\s*$')


def _if_match_version(header: str) -> int | None:
    """The version named by ``If-Match``: ``*`` (or nothing) means no check; anything unreadable is stale (-1)."""
    header = (header or "").strip()
    if not header or header == "*":
        return None
    versions = set()
    for part in header.split(","):
        found = _ETAG.match(part)
        text = found.group(1) if found else ""
        versions.add(int(text) if text.isdigit() else -1)
    if len(versions) > 1:  # several tags: only one can be current; we take the highest readable one
        versions.discard(-1)
    return max(versions)


def expected_version(request, data=None) -> int | None:
    """The version an API client edits: the ``version`` field, else ``If-Match``; both given and different: stale."""
    header = _if_match_version(request.headers.get("If-Match", ""))
    body = None
    if data is not None and hasattr(data, "get"):
        raw = data.get("version")
        if raw not in (None, ""):
            try:
                body = int(raw)
            except (TypeError, ValueError):
                body = -1
    if body is not None and header is not None and body != header:
        return -1  # one of them is not the current version
    return body if body is not None else header
