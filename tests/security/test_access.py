"""Every address of the project refuses an anonymous user and a logged-in outsider (no post), and another
marketing officer's loan stays out of reach (SPEC §4: outside the scope a loan or customer answers 404).

The addresses are not listed by hand: they are walked from ``get_resolver()``, so a new page is covered the day it
is added. Path parameters are filled with an existing object of the right kind from the ``world`` fixture.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from applications.models import Loan
from loancenter.models import AuditEntry

# Intentionally open: the login page, the token endpoint, the language switch, the liveness probe (static files are
# not URL patterns).
OPEN = {"login", "api-token", "set_language", "logout", "admin:login", "admin:logout", "healthz"}

# The kind of object a ``pk`` names, from the path segment in front of it.
SEGMENT_KIND = {
    "loans": "loan", "ledger": "loan", "customers": "customer", "products": "product", "folders": "folder",
    "files": "file", "items": "item", "lendings": "lending", "servicing": "servicing",
    "servicing-requests": "servicing", "write-offs": "write_off", "grade-changes": "grade_change",
    "cases": "case", "collection-cases": "case", "tasks": "task", "escalation-tasks": "task",
    "documents": "document", "checks": "check", "signals": "signal",
    "collaterals": "collateral", "agency-assignments": "assignment",
    # Bank-wide registers, no loan behind them: the LPR publications and the scorecard versions.
    "lpr": "lpr", "scorecards": "scorecard",
    # Not seeded (archivist-only registers, no loan of mkt's behind them): any id proves the refusal.
    "handovers": None, "destructions": None, "notices": None,
    # A unit's weekly report: the unit's own staff read it (SPEC §13); any id proves the refusal.
    "weekly": None,
    # Staff requests are about staff, not loans: any id proves the refusal.
    "staff-requests": None,
}
# Kinds that belong to no loan or customer: another officer may read them (the LPR register is open to every post),
# so they prove nothing about mkt's loan; anonymous and the outsider are still walked through them.
BANK_WIDE = {"product", "lpr", "scorecard", "unseeded"}
OTHER_PARAMS = {"customer_id": "customer", "item_pk": "item", "repayment_pk": "repayment"}
WORDS = {"action": "approve", "kind": "extension", "name": "submit"}
# Admin parameters: the admin has its own login and refuses anyone who is not is_staff.
ADMIN_WORDS = {"app_label": "loancenter", "object_id": "1", "content_type_id": "1", "url": "x", "model_name": "user"}


def _walk(resolver, prefix="", namespace=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), (namespace + entry.name) if entry.name else None, entry


def _params(route: str) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route) and [
        a or b for a, b in re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)
    ]


def _kind_of(route: str, param: str) -> str | None:
    if param in OTHER_PARAMS:
        return OTHER_PARAMS[param]
    clean = re.sub(r"[\^$]", "", route)
    before = re.split(r"<(?:\w+:)?pk>|\(\?P<pk>", clean)[0].rstrip("/").split("/")[-1]
    assert before in SEGMENT_KIND, f"{route}: unknown kind of pk after {before!r}; add it to SEGMENT_KIND"
    return SEGMENT_KIND[before]


def addresses(ids: dict[str, int]) -> list[tuple[str, str, set[str]]]:
    """(name, url, kinds of object in it) for every named pattern of the project."""
    found = []
    for route, name, _entry in _walk(get_resolver()):
        if name is None:
            continue
        kwargs, kinds = {}, set()
        for param in _params(route):
            if name.startswith("admin:"):
                kwargs[param] = ADMIN_WORDS.get(param, "1")
            elif param in WORDS:
                kwargs[param] = WORDS[param]
            else:
                kind = _kind_of(route, param)
                kwargs[param] = ids[kind] if kind else 999_999
                kinds.add(kind or "unseeded")
        if name.startswith("admin:") and "object_id" in kwargs:
            kwargs["object_id"] = str(ids["customer"])
        found.append((name, reverse(name, kwargs=kwargs), kinds))
    return found


def _refused(response, *, anonymous: bool, secrets: tuple[str, ...] = ()) -> bool:
    if response.status_code in (401, 403, 404, 405):
        return True
    if response.status_code == 200 and not anonymous and secrets:
        # The common pages (work queue, loan/customer/product lists, archive and servicing lists) open for every
        # logged-in user by design (tests/web/test_pages.py), but show an outsider nothing of anyone's loans.
        body = response.content.decode(errors="replace")
        return not any(secret in body for secret in secrets)
    if response.status_code == 302:
        location = response["Location"]
        return "/accounts/login/" in location or "/admin/login/" in location
    return False


def _sweep(client, ids, *, anonymous: bool, secrets: tuple[str, ...] = ()) -> list[str]:
    holes = []
    for name, url, _kinds in addresses(ids):
        if name in OPEN:
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if not _refused(response, anonymous=anonymous, secrets=secrets):
                holes.append(f"{method.upper()} {url} ({name}) -> {response.status_code} {response.get('Location', '')}")
    return holes


def test_every_address_is_walked(world):
    _loan, ids = world
    named = addresses(ids)
    names = {name for name, _url, _kinds in named}
    # Spot-check that the walk reaches every mounted area, including the nested includes.
    for expected in ("loan-detail", "api-loan-detail", "loan-receipt-pdf", "archive:checklist-pdf", "collection-case",
                     "classification-report", "api-portfolio", "repayment-detail", "api-loan-approve", "pii-views",
                     "admin:index"):
        assert expected in names
    assert len(named) > 150


def test_anonymous_is_refused_everywhere(client, world):
    _loan, ids = world
    before = AuditEntry.objects.count()
    holes = _sweep(client, ids, anonymous=True)
    assert holes == []
    assert AuditEntry.objects.count() == before


def test_outsider_without_post_is_refused_everywhere(client, staff, world):
    loan, ids = world
    client.force_login(staff.outsider)
    before = AuditEntry.objects.count()
    customer = loan.customer
    secrets = (loan.application_no, customer.name, customer.phone, customer.id_number[-6:], customer.archive_folder.folder_no)
    holes = _sweep(client, ids, anonymous=False, secrets=secrets)
    assert holes == []
    assert AuditEntry.objects.count() == before
    loan.refresh_from_db()
    assert loan.status == "active"


def test_open_addresses_answer_anonymous(client, db):
    assert client.get(reverse("login")).status_code == 200
    assert client.post(reverse("api-token"), {"username": "nobody", "password": "x"}).status_code in (400, 401)
    assert client.post(reverse("set_language"), {"language": "en", "next": "/"}).status_code == 302


def test_another_marketing_officer_never_reaches_the_loan(client, staff, world):
    """Every address naming mkt's loan, its customer or anything hanging off them answers mkt2 with 404 (or 403)."""
    loan, ids = world
    client.force_login(staff.mkt2)
    before = AuditEntry.objects.count()
    holes, checked = [], 0
    for name, url, kinds in addresses(ids):
        if name.startswith("admin:") or not kinds - BANK_WIDE:
            continue
        checked += 1
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if response.status_code not in (403, 404, 405):
                holes.append(f"{method.upper()} {url} ({name}) -> {response.status_code}")
    assert checked > 60
    assert holes == []
    assert AuditEntry.objects.count() == before
    loan.refresh_from_db()
    assert loan.status == "active"


LISTS = ["loan-list", "customer-list", "home", "api-loan-list", "api-customer-list", "archive:folder-list",
         "archive:lending-list", "archive:queue", "collection-queue", "postloan-pending", "registration-ledger"]


@pytest.mark.parametrize("name", LISTS)
def test_lists_hide_another_officers_loan(client, staff, world, name):
    loan, _ids = world
    client.force_login(staff.mkt)
    mine = client.get(reverse(name))
    client.force_login(staff.mkt2)
    other = client.get(reverse(name))
    assert other.status_code in (200, 403)
    if other.status_code == 200:
        body = other.content.decode()
        assert loan.application_no not in body
        assert loan.customer.name not in body
    if mine.status_code == 200 and name in ("loan-list", "customer-list", "api-loan-list", "api-customer-list"):
        assert loan.application_no in mine.content.decode() or loan.customer.name in mine.content.decode()


def test_mkt_still_reaches_own_loan(client, staff, world):
    """The sweep above would pass if every page answered 404; the owner proves the addresses are live."""
    loan, ids = world
    client.force_login(staff.mkt)
    assert client.get(reverse("loan-detail", args=[loan.pk])).status_code == 200
    assert client.get(reverse("customer-detail", args=[ids["customer"]])).status_code == 200
    assert client.get(reverse("api-loan-detail", args=[loan.pk])).status_code == 200
    assert Loan.objects.filter(pk=loan.pk).exists()
