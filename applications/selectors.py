"""Queries that read loans and customers, scoped to what the reader may see (SPEC §4, data scope)."""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from typing import NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import CharField, Count, Q, QuerySet, Sum, Value
from django.http import Http404
from django.utils.translation import gettext as _

from applications.models import Collateral, Customer, Guarantor, Investigation, Loan, LoanDocument, Status
from applications.rules import Appraisal, Person
from loancenter import posts as P
from loancenter.lib.errors import OutOfScope, RuleViolation
from loancenter.lib.money import first_installment
from loancenter.lib.sql import convert_rows, fetch_all
from loancenter.models import AuditEntry
from loancenter.prepared import PreparedRead
from loancenter.refusals import record_refusal

# The stage (applications.models.STAGE) from which a post sees a loan: "in or past their step".
POST_FROM_STAGE = {
    P.INVESTIGATOR: 1,
    P.REVIEWER: 3,
    P.APPROVER: 4,
    P.BRANCH_APPROVER: 5,
    P.MORTGAGE_CLERK: 6,
    P.DISBURSEMENT: 6,
}


def unit_scope(user, prefix: str = "") -> Q | None:
    """SPEC §13, §16.26: a filter for the rows of ``user``'s unit (``prefix``: the path to the loan or customer, e.g.
    ``"loan__"``); ``None`` for the center's staff, who see every unit. Every scope below applies it."""
    if user.in_center:
        return None
    return Q(**{f"{prefix}unit_id": user.unit_id})


def loan_scope(user) -> Q | None:
    """A filter for the loans ``user`` may see; ``None`` means all of them: their post's scope (SPEC §4) within
    their unit (SPEC §16.26)."""
    unit = unit_scope(user)
    if user.posts & P.SEE_ALL_POSTS:  # the superuser flag widens nothing (SPEC §16.14)
        return unit
    scope = Q(pk__in=[])
    if user.has_post(P.MARKETING):
        scope |= Q(marketing_officer=user)
    stages = [POST_FROM_STAGE[p] for p in user.posts if p in POST_FROM_STAGE]
    if stages:
        scope |= Q(stage_reached__gte=min(stages))
    return scope if unit is None else unit & scope


def loans_visible_to(user) -> QuerySet[Loan]:
    scope = loan_scope(user)
    qs = Loan.objects.all()
    return qs if scope is None else qs.filter(scope)


def customers_visible_to(user) -> QuerySet[Customer]:
    unit = unit_scope(user)
    if user.posts & P.SEE_ALL_POSTS:
        return Customer.objects.all() if unit is None else Customer.objects.filter(unit)
    scope = Q(pk__in=loans_visible_to(user).values("customer_id")) | Q(guarantees__loan__in=loans_visible_to(user))
    if user.has_post(P.MARKETING):
        scope |= Q(officer=user)
    return Customer.objects.filter(scope).distinct()


def scope_key(user) -> tuple:
    """Everything ``loan_scope`` and the work queue's rules read of ``user``: the key of a statement compiled for
    the user's scope (a rule that reads anything else of the user must add it here)."""
    return (user.pk, user.posts, user.unit_id)


_LOAN_IN_SCOPE = PreparedRead(
    lambda user, pk: loans_visible_to(user).select_related("customer", "product", "marketing_officer").filter(pk=pk),
    [Loan._meta.pk], key=scope_key,
)


def access_loan(user, pk, *, action: str = "view") -> Loan:
    """The loan if ``user`` may see it; 404 otherwise (outside the scope a loan does not exist).

    Asked by every page and endpoint of a loan; compiled once per process and scope (loancenter/prepared.py).
    A loan that exists outside the scope is a refusal like any other (SPEC §10): recorded with the loan and the
    ``action`` attempted, and answered 404 all the same.
    """
    try:
        loan = _LOAN_IN_SCOPE.first(user, pk)
    except (ValueError, TypeError):
        raise Http404 from None
    if loan is None:
        _record_out_of_scope(user, pk, action)
        raise Http404
    return loan


def _record_out_of_scope(user, pk, action: str) -> None:
    try:
        loan_id = int(pk)
    except (TypeError, ValueError):
        return
    if -(2**63) <= loan_id < 2**63 and Loan.objects.filter(pk=loan_id).exists():
        record_refusal(actor=user, action=action, loan_id=loan_id,
                       error=OutOfScope(_("This loan is outside your data scope.")))


class LoanRows:
    """A loan's rows of ``queryset``'s model as ``loan.<related manager>`` lists them — each row's ``loan`` is the
    loan given, as the related manager sets it — read by a statement compiled once (loancenter/prepared.py).
    ``first``: only the first row or ``None``, as ``.first()`` gives it."""

    def __init__(self, queryset: QuerySet, *, first: bool = False):
        self.field = queryset.model._meta.get_field("loan")
        self.first = first
        if first and not queryset.ordered:
            queryset = queryset.order_by("pk")
        self.read = PreparedRead(
            lambda _context, loan_id: queryset.filter(loan_id=loan_id)[: 1 if first else None], [self.field]
        )

    def __call__(self, loan: Loan):
        rows = self.read(None, loan.pk)
        for row in rows:
            setattr(row, self.field.name, loan)
        if self.first:
            return rows[0] if rows else None
        return rows


# The rows the loan page shows beside the loan (applications.views.loan_detail): one statement each.
loan_documents = LoanRows(LoanDocument.objects.all())
loan_guarantors = LoanRows(Guarantor.objects.select_related("customer"))
loan_collaterals = LoanRows(Collateral.objects.all())
loan_investigations = LoanRows(Investigation.objects.select_related("assignee", "cosigner"))
loan_audit_entries = LoanRows(AuditEntry.objects.select_related("actor"))


def access_customer(user, pk) -> Customer:
    try:
        return customers_visible_to(user).get(pk=pk)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def can_see_full_pii(user) -> bool:
    return bool(user.posts & P.FULL_PII_POSTS)


# Work queues: what waits for each post's action (oldest first).
def _queue_rules(user) -> list[tuple[tuple[str, ...], Q | None]]:
    """For each of ``user``'s posts, the states whose loans wait for its action and the condition a loan in them must
    also meet (None: every loan in those states)."""
    rules: list[tuple[tuple[str, ...], Q | None]] = []
    if user.has_post(P.MARKETING):
        # Indexed in page order by loan_officer_open_queue (migration 0008), whose condition is this filter.
        rules.append(((Status.DRAFT, Status.APPROVED), Q(marketing_officer=user)))
    if user.has_post(P.INVESTIGATOR):
        # Their own rounds, unless the report waits for the second investigator; reports waiting for their
        # co-signature (rule 26).
        mine = Investigation.objects.filter(assignee=user, reported_at__isnull=True, completed_at__isnull=True)
        to_cosign = Investigation.objects.filter(cosigner=user, reported_at__isnull=False, completed_at__isnull=True)
        rules += [((Status.SUBMITTED,), None),
                  ((Status.INVESTIGATING,), Q(pk__in=mine.values("loan_id")) | Q(pk__in=to_cosign.values("loan_id")))]
    if user.has_post(P.REVIEWER):
        rules += [((Status.UNDER_REVIEW, Status.COLLATERAL_REGISTERED), None),
                  ((Status.CONTRACT_SIGNED,), Q(product__secured=False))]
    if user.has_post(P.APPROVER):
        rules.append(((Status.PENDING_APPROVAL,), None))
    if user.has_post(P.BRANCH_APPROVER):
        rules.append(((Status.PENDING_BRANCH_APPROVAL,), None))
    if user.has_post(P.MORTGAGE_CLERK):
        rules.append(((Status.CONTRACT_SIGNED,), Q(product__secured=True)))
    if user.has_post(P.DISBURSEMENT):
        rules.append(((Status.READY_TO_DISBURSE,), None))
    if user.has_post(P.MANAGER):
        rules.append(((Status.PENDING_APPROVAL, Status.PENDING_BRANCH_APPROVAL), None))
    return rules


def _in_states(statuses: tuple[str, ...], condition: Q | None) -> Q:
    q = Q(status=statuses[0]) if len(statuses) == 1 else Q(status__in=statuses)
    return q if condition is None else condition & q


def _queue_filters(user) -> Q:
    q = Q(pk__in=[])
    for statuses, condition in _queue_rules(user):
        q |= _in_states(statuses, condition)
    return q


def work_queue(user) -> QuerySet[Loan]:
    # No DISTINCT: no filter joins a multi-valued relation (the investigator's own investigations are a subquery).
    # DISTINCT over every selected column sorted the whole queue on disk before a page's LIMIT (bench/load.py).
    return (
        loans_visible_to(user)
        .filter(_queue_filters(user))
        .select_related("customer", "product", "marketing_officer")
        .order_by("status_changed_at", "id")
    )


def _queue_counts(user) -> QuerySet | None:
    """(state, number) for each state of the queue, each counted with only that state's conditions.

    Grouping the whole queue by state hashed every row (8 ms of PostgreSQL for 20,000 drafts, bench/load.py) where
    a state's count reads the (officer, state) index alone (4 ms).
    """
    conditions: dict[str, list[Q | None]] = {}
    for statuses, condition in _queue_rules(user):
        for status in statuses:
            conditions.setdefault(status, []).append(condition)
    visible = loans_visible_to(user).order_by()
    counts = []
    for status, either in conditions.items():
        unconditional = any(condition is None for condition in either)
        q = _in_states((status,), None if unconditional else reduce(operator.or_, either))
        counts.append(visible.filter(q).values_list(Value(status, output_field=CharField())).annotate(n=Count("pk")))
    if not counts:
        return None
    return counts[0].union(*counts[1:], all=True) if len(counts) > 1 else counts[0]


class _QueueStatements(NamedTuple):
    counts: tuple[str, tuple] | None  # None: nothing can wait for this user
    ids: tuple[str, tuple] | None  # in page order, without a LIMIT


_QUEUE_STATEMENTS: dict[tuple, _QueueStatements] = {}


def _queue_statements(user) -> _QueueStatements:
    """The work queue's statements for ``user``, compiled through the ORM once per process and user.

    Building and compiling them cost 4 ms of CPU a page, as much as PostgreSQL spent running them (bench/load.py).
    The key holds everything the rules above read of the user: a rule that reads anything else must add it.
    """
    key = (connection.vendor, *scope_key(user))
    statements = _QUEUE_STATEMENTS.get(key)
    if statements is None:
        if len(_QUEUE_STATEMENTS) > 1000:
            _QUEUE_STATEMENTS.clear()
        statements = _QUEUE_STATEMENTS[key] = _QueueStatements(
            _compiled(_queue_counts(user)), _compiled(work_queue(user).values_list("pk", flat=True)),
        )
    return statements


def _compiled(queryset: QuerySet | None) -> tuple[str, tuple] | None:
    try:
        return queryset.query.sql_with_params() if queryset is not None else None
    except EmptyResultSet:  # the filter can match nothing (no post of the user has a queue)
        return None


def work_queue_counts(user) -> dict[str, int]:
    """How many loans wait in each state of ``user``'s work queue (``work_queue``); states with none are left out."""
    statement = _queue_statements(user).counts
    if statement is None:
        return {}
    sql, params = statement
    rows = fetch_all(connection, sql, params, constants=range(len(params)))  # the user's scope: all constants
    return {status: n for status, n in rows if n}


def work_queue_ids(user, offset: int, limit: int) -> list[int]:
    """The ids of ``limit`` loans of ``user``'s work queue from ``offset`` on, in the queue's order."""
    statement = _queue_statements(user).ids
    if statement is None or limit <= 0:
        return []
    sql, params = statement
    rows = fetch_all(connection, f"{sql} LIMIT %s OFFSET %s", (*params, limit, offset), constants=range(len(params)))
    return [pk for (pk,) in rows]


@functools.lru_cache(maxsize=256)
def _values_statement(vendor: str, fields: tuple[str, ...], n: int) -> tuple[str, list]:
    query = Loan.objects.filter(pk__in=range(1, n + 1)).order_by().values_list(*fields).query
    compiler = query.get_compiler(DEFAULT_DB_ALIAS)
    sql, params = compiler.as_sql()
    assert list(params) == list(range(1, n + 1)), "the ids are the statement's only parameters"
    return sql, [column for column, _sql, _alias in compiler.select]


def loan_values(ids: list[int], fields: tuple[str, ...]) -> list[list]:
    """``Loan.objects.filter(pk__in=ids).values_list(*fields)`` in the order of ``ids`` (``fields`` begin with "pk").

    For a page of ids read by a selector that applied the reader's scope. The statement is compiled once per number
    of ids: building and compiling the three joins through the ORM cost 1.5 ms of CPU for the work queue's page.
    """
    assert fields[0] == "pk"
    if not ids:
        return []
    sql, columns = _values_statement(connection.vendor, fields, len(ids))
    rows = [list(row) for row in fetch_all(connection, sql, list(ids))]
    convert_rows(connection, columns, rows)  # what the ORM converts, as it would (SQLite's dates and decimals)
    order = {pk: i for i, pk in enumerate(ids)}
    rows.sort(key=lambda row: order[row[0]])
    return rows


# ---------------------------------------------------------------------------------------------------------------
# Rule 23: the facts the investigation verified, and the loans that freeze a customer's


# A customer's verified facts are frozen while they borrow or guarantee a loan submitted and not yet settled,
# withdrawn or rejected (SPEC §16.11); a returned application is a draft again, and frees them.
NOT_FREEZING = (Status.DRAFT, Status.SETTLED, Status.WITHDRAWN, Status.REJECTED)
# The loans a change of a customer's data concerns: their trails show it (rule 23).
NOT_CONCERNED = (Status.SETTLED, Status.WITHDRAWN, Status.REJECTED)


def _loans_of_person(customer_id: int) -> QuerySet[Loan]:
    guaranteed = Guarantor.objects.filter(customer_id=customer_id).values("loan_id")
    return Loan.objects.filter(Q(customer_id=customer_id) | Q(pk__in=guaranteed))


def freezing_loan(customer) -> Loan | None:
    """The first loan that freezes ``customer``'s verified facts, or None."""
    return _loans_of_person(customer.pk).exclude(status__in=NOT_FREEZING).order_by("pk").first()


def concerned_loans(customer) -> list[Loan]:
    """The loans whose audit trail shows a change of ``customer``'s data: those they borrow or guarantee, not closed."""
    return list(_loans_of_person(customer.pk).exclude(status__in=NOT_CONCERNED).order_by("pk"))


def _not_verified() -> RuleViolation:
    return RuleViolation("not_verified", _("The investigation has not verified this application's facts; it must be "
                                           "investigated again (rule 23)."))


def verified_borrower(loan: Loan) -> Person:
    """The borrower as the investigation verified them (rule 23); the warning-list flag as it is today."""
    if loan.verified_at is None:
        raise _not_verified()
    customer = loan.customer
    return Person(pk=customer.pk, name=customer.name, birth_date=loan.verified_birth_date,
                  civil_capacity=loan.verified_civil_capacity, on_warning_list=customer.on_warning_list,
                  monthly_income=loan.verified_monthly_income, monthly_debt_payment=loan.verified_monthly_debt)


def verified_guarantors(loan: Loan) -> list[Person]:
    """Each guarantor with the income the investigation verified (their ID number and capacity are frozen with it)."""
    if loan.verified_at is None:
        raise _not_verified()
    return [
        Person(pk=g.customer.pk, name=g.customer.name, birth_date=g.customer.birth_date,
               civil_capacity=g.customer.civil_capacity, on_warning_list=g.customer.on_warning_list,
               monthly_income=g.verified_monthly_income)
        for g in loan.guarantors.select_related("customer").order_by("pk")
    ]


def verified_collaterals(loan: Loan) -> list[Appraisal]:
    """Each collateral with the appraisal the investigation verified."""
    if loan.verified_at is None:
        raise _not_verified()
    return [
        Appraisal(description=c.description, certificate_no=c.certificate_no, disposer_consent=c.disposer_consent,
                  appraised_value=c.verified_appraised_value, appraised_on=c.verified_appraised_on)
        for c in loan.collaterals.order_by("pk")
    ]


# ---------------------------------------------------------------------------------------------------------------
# Rule 27: exposure, and the installments of the customer's other live loans

APPROVED_NOT_DISBURSED = (Status.APPROVED, Status.CONTRACT_SIGNED, Status.COLLATERAL_REGISTERED,
                          Status.READY_TO_DISBURSE)
LIVE = (*APPROVED_NOT_DISBURSED, Status.ACTIVE)
BEFORE_DECISION = (Status.DRAFT, Status.SUBMITTED, Status.INVESTIGATING, Status.UNDER_REVIEW, Status.PENDING_APPROVAL,
                   Status.PENDING_BRANCH_APPROVAL)


@dataclass(frozen=True)
class Exposure:
    """The customer's total exposure an approval is measured on (rule 27; docs/decisions.md)."""

    active: Decimal  # outstanding principal of the customer's active loans
    approved: Decimal  # approved amount of their loans approved and not yet disbursed
    this_loan: Decimal  # the amount being decided
    guaranteed: Decimal  # 100 % of the outstanding principal of the active loans they guarantee (SPEC §16.12)

    @property
    def total(self) -> Decimal:
        return self.active + self.approved + self.this_loan + self.guaranteed

    def as_dict(self) -> dict:
        return {key: f"{value:.2f}" for key, value in (("active", self.active), ("approved", self.approved),
                                                      ("this_loan", self.this_loan), ("guaranteed", self.guaranteed),
                                                      ("total", self.total))}


def customer_exposure(loan: Loan, *, amount: Decimal | None = None) -> Exposure:
    """The exposure of ``loan``'s borrower with ``amount`` (default: the amount on the table now) for this loan, live.

    The one place it is computed: the approver's authority (rule 11), the decision forms and the API read it here.
    """
    customer_id = loan.customer_id
    guaranteed = Guarantor.objects.filter(customer_id=customer_id).values("loan_id")
    own = Q(customer_id=customer_id)
    sums = (
        Loan.objects.filter(own | Q(pk__in=guaranteed)).exclude(pk=loan.pk).aggregate(
            active=Sum("outstanding_principal", filter=own & Q(status=Status.ACTIVE)),
            approved=Sum("approved_amount", filter=own & Q(status__in=APPROVED_NOT_DISBURSED)),
            guaranteed=Sum("outstanding_principal", filter=~own & Q(status=Status.ACTIVE)),
        )
    )
    zero = Decimal("0.00")
    return Exposure(active=sums["active"] or zero, approved=sums["approved"] or zero,
                    this_loan=Decimal(amount if amount is not None else loan.effective_amount),
                    guaranteed=sums["guaranteed"] or zero)


def exposure_shown(loan: Loan) -> Decimal | None:
    """What the loan shows as its exposure: as decided on once decided; live before the decision; else unknown."""
    if loan.exposure is not None:
        return loan.exposure
    if loan.status in BEFORE_DECISION:
        return customer_exposure(loan).total
    return None


def other_installments(loan: Loan) -> Decimal:
    """The monthly installments of the borrower's other live loans here (approved, not yet settled): each loan's as
    rule 8 measured it at its approval, from its kept terms (docs/decisions.md)."""
    rows = (Loan.objects.filter(customer_id=loan.customer_id, status__in=LIVE).exclude(pk=loan.pk)
            .values_list("approved_amount", "annual_rate", "approved_term_months", "approved_method"))
    return sum((first_installment(*row) for row in rows if None not in row and row[3]), Decimal("0.00"))
