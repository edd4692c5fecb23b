"""Global search (issue 15 part 12): one box in the header finds a loan by its application or contract number, or
by its borrower's name or the last digits of their ID number or phone, within the reader's data scope.

What a query can mean is decided from its normal form (the identifiers' normaliser: NFKC, every Unicode digit an
ASCII digit, no spaces, upper-case Latin letters), so ``１２３４``, ``١٢٣٤`` and ``1234`` are the same query:

- an application number (``GD…``) or a contract number: the exact number;
- at least ``MIN_DIGITS`` digits (an ID number's last may be ``X``): the end of an ID number or a phone number;
- at least ``MIN_NAME`` characters: part of a name (two characters: the start of the name, three or more: anywhere
  in it).

Every query that returns loans carries the reader's scope (``applications.selectors.loan_scope``) in its SQL; the
customers shown are those of the loans found, and for a marketing officer the customers they registered, and for
the posts that see every customer those of their unit: never one outside ``customers_visible_to``.

The indexes that make this fast at a million loans (PostgreSQL; migration applications 0022): a trigram GIN index
on the customer's name and B-tree indexes on the reversed ID and phone numbers (an ending is a reversed prefix).
Measured by bench/search.py.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.db.models.functions import Reverse

from applications.models import Customer, Loan
from applications.selectors import loans_visible_to, unit_scope, with_age
from disbursement.models import Contract
from loancenter import posts as P
from loancenter.lib.identifiers import normalise_contract_no, normalise_phone

MIN_DIGITS = 4  # "the last four digits": fewer would match a tenth of the book
MIN_NAME = 2  # a Chinese name has two characters at least; one would match every customer of a surname
MAX_QUERY = 60
LOAN_LIMIT = 20  # "the" loan is among the first; a page of 50 rows cost more to draw than to find (bench)
CUSTOMER_LIMIT = 20
# The customers a name or an ending may match before the loans are read: a query matching more is too broad to find
# "the" loan and the page asks for more of the name or more digits (docs/decisions.md, "Global search").
MATCH_CAP = 1000

_ID_SUFFIX = re.compile(rf"[0-9]{{{MIN_DIGITS - 1},17}}[0-9X]")
_PHONE_SUFFIX = re.compile(rf"[0-9]{{{MIN_DIGITS},11}}")
_NUMBER = re.compile(r"[0-9A-Z][0-9A-Z()\-/]{3,39}")


@dataclass(frozen=True)
class Query:
    text: str  # as typed, trimmed
    number: str = ""  # the normal form, if it can be an application or contract number
    id_suffix: str = ""
    phone_suffix: str = ""
    name: str = ""

    @property
    def usable(self) -> bool:
        return bool(self.number or self.id_suffix or self.phone_suffix or self.name)


def parse_query(raw: str | None) -> Query:
    text = unicodedata.normalize("NFKC", (raw or "")).strip()[:MAX_QUERY]
    compact = normalise_contract_no(text)  # NFKC, ASCII digits, no spaces, upper-case, one kind of dash
    number = compact if _NUMBER.fullmatch(compact) else ""
    id_suffix = compact if _ID_SUFFIX.fullmatch(compact) else ""
    phone = normalise_phone(text)  # separators and a +86 prefix dropped: "139-1234-5678"
    phone_suffix = phone if _PHONE_SUFFIX.fullmatch(phone) else ""
    # A name is any query that is not only digits; spaces inside (a Latin name) are kept, doubled ones folded.
    name = " ".join(text.split())
    if len(name) < MIN_NAME or compact.isdigit() or id_suffix or phone_suffix:
        name = ""
    return Query(text=text, number=number, id_suffix=id_suffix, phone_suffix=phone_suffix, name=name)


def _customer_match(query: Query) -> Q | None:
    parts = []
    if query.name:
        # Two characters: the start of the name (the trigram index can read a prefix; an inner two-character piece
        # has no trigram and would scan every name); more: anywhere in it.
        parts.append(Q(name__startswith=query.name) if len(query.name) < 3 else Q(name__contains=query.name))
    if query.id_suffix:
        parts.append(Q(id_reversed__startswith=query.id_suffix[::-1]))
    if query.phone_suffix:
        parts.append(Q(phone_reversed__startswith=query.phone_suffix[::-1]))
    if not parts:
        return None
    q = parts[0]
    for part in parts[1:]:
        q |= part
    return q


def _matching_customers(user, query: Query) -> tuple[list[int], bool]:
    """The ids of up to ``MATCH_CAP`` customers (of the reader's unit) matching the query, newest first, and whether
    there were more."""
    match = _customer_match(query)
    if match is None:
        return [], False
    customers = Customer.objects.annotate(id_reversed=Reverse("id_number"), phone_reversed=Reverse("phone"))
    unit = unit_scope(user)
    if unit is not None:
        customers = customers.filter(unit)
    ids = list(customers.filter(match).order_by("-pk").values_list("pk", flat=True)[:MATCH_CAP + 1])
    return ids[:MATCH_CAP], len(ids) > MATCH_CAP


@dataclass
class Results:
    query: Query
    loans: list[Loan] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    more_loans: bool = False  # more than LOAN_LIMIT loans matched
    too_broad: bool = False  # more than MATCH_CAP customers matched: ask for more of the name or digits


def _loan_ids(visible: QuerySet[Loan], condition: Q, limit: int) -> list[int]:
    return list(visible.filter(condition).order_by("-pk").values_list("pk", flat=True)[:limit])


def search(user, raw: str | None, *, limit: int = LOAN_LIMIT) -> Results:
    """What ``raw`` finds for ``user``: loans newest first and customers, each within the reader's scope."""
    query = parse_query(raw)
    results = Results(query=query)
    if not query.usable:
        return results
    visible = loans_visible_to(user).order_by()
    found: set[int] = set()
    # Each source is its own indexed query with the scope in it: one OR across them would read every loan.
    if query.number:
        found.update(_loan_ids(visible, Q(application_no=query.number), limit + 1))
        contract_loans = Contract.objects.filter(contract_no=query.number).values("loan_id")
        found.update(_loan_ids(visible, Q(pk__in=contract_loans), limit + 1))
    customer_ids, results.too_broad = _matching_customers(user, query)
    if customer_ids:
        found.update(_loan_ids(visible, Q(customer_id__in=customer_ids), limit + 1))
    ids = sorted(found, reverse=True)
    results.more_loans = len(ids) > limit
    loans = visible.select_related("customer", "product", "marketing_officer").in_bulk(ids[:limit])
    results.loans = with_age([loans[pk] for pk in ids[:limit] if pk in loans])
    results.customers = _visible_customers(user, customer_ids, results.loans)
    return results


def _visible_customers(user, customer_ids: list[int], loans: list[Loan]) -> list[Customer]:
    """The matching customers the reader may see (a subset of ``customers_visible_to``, without its scan of every
    visible loan): all of them for the posts that see every customer (in their unit), otherwise the borrowers of
    the loans found and a marketing officer's own customers."""
    if not customer_ids:
        return []
    matched = Customer.objects.filter(pk__in=customer_ids)
    if not user.posts & P.SEE_ALL_POSTS:
        seen = Q(pk__in={loan.customer_id for loan in loans})
        if user.has_post(P.MARKETING):
            seen |= Q(officer=user)
        matched = matched.filter(seen)
    unit = unit_scope(user)
    if unit is not None:
        matched = matched.filter(unit)
    return list(matched.order_by("-pk")[:CUSTOMER_LIMIT])
