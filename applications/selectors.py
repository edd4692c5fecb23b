"""Queries that read loans and customers, scoped to what the reader may see (SPEC §4, data scope)."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce

from django.db.models import CharField, Count, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.models import Customer, Guarantor, Loan, Status
from applications.rules import Appraisal, Person
from applications.workflow import declared_transitions
from loancenter import posts as P
from loancenter.lib.errors import OutOfScope, RuleViolation
from loancenter.lib.money import first_installment
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


def in_scope(rows: QuerySet, user, *, path: str = "loan__") -> QuerySet:
    """``rows`` (each of a loan, reached by ``path``) kept to the loans ``user`` may see (``loans_visible_to``): the
    one restriction of every list of loan items, its menu badge's count and its export."""
    if loan_scope(user) is None:
        return rows
    return rows.filter(**{f"{path}in": loans_visible_to(user).values("pk")})


def customers_visible_to(user) -> QuerySet[Customer]:
    unit = unit_scope(user)
    if user.posts & P.SEE_ALL_POSTS:
        return Customer.objects.all() if unit is None else Customer.objects.filter(unit)
    scope = Q(pk__in=loans_visible_to(user).values("customer_id")) | Q(guarantees__loan__in=loans_visible_to(user))
    if user.has_post(P.MARKETING):
        scope |= Q(officer=user)
    return Customer.objects.filter(scope).distinct()


def access_loan(user, pk, *, action: str = "view") -> Loan:
    """The loan if ``user`` may see it, with its customer, product and marketing officer; 404 otherwise (outside the
    scope a loan does not exist).

    A loan that exists outside the scope is a refusal like any other (SPEC §10): recorded with the loan and the
    ``action`` attempted, and answered 404 all the same.
    """
    try:
        loan = (loans_visible_to(user).select_related("customer", "product", "marketing_officer")
                .filter(pk=pk).first())
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


def access_customer(user, pk) -> Customer:
    try:
        return customers_visible_to(user).select_related("unit").get(pk=pk)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def can_see_full_pii(user) -> bool:
    return bool(user.posts & P.FULL_PII_POSTS)


# Work queues: what waits for each post's action (oldest first), read from the transitions the loan declares
# (applications.models.Loan, ``custom["queue"]``): a loan waits for a user in a state from which a transition
# marked for the queue starts, that one of the user's posts may perform (in that state), and that meets the
# transition's queue condition (owner-only steps: the user's own loans).
def _queue_rules(user) -> list[tuple[tuple[str, ...], Q | None]]:
    """For each of ``user``'s posts, the states whose loans wait for its action and the condition a loan in them must
    also meet (None: every loan in those states); states with the same condition share one rule."""
    grouped: list[tuple[Q | None, list[str]]] = []
    for transition in declared_transitions():
        queue = transition.custom.get("queue")
        if not queue or not transition.has_perm(None, user):
            continue
        if transition.custom["owner_only"]:
            # Indexed in page order by loan_officer_open_queue (migration 0008), whose condition is this filter.
            condition = Q(marketing_officer=user)
        else:
            condition = queue(user) if callable(queue) else None
        states = next((states for c, states in grouped if c == condition), None)
        if states is None:
            grouped.append((condition, states := []))
        if transition.source not in states:
            states.append(transition.source)
    rules = [(tuple(sorted(states, key=list(Status).index)), condition) for condition, states in grouped]
    if user.has_post(P.MANAGER):
        # Not a transition: the manager watches the decisions waiting (the dashboard's pipeline).
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


def work_queue_counts(user) -> dict[str, int]:
    """How many loans wait in each state of ``user``'s work queue (``work_queue``); states with none are left out."""
    counts = _queue_counts(user)
    return {} if counts is None else {status: n for status, n in counts if n}


def work_queue_ids(user, offset: int, limit: int) -> list[int]:
    """The ids of ``limit`` loans of ``user``'s work queue from ``offset`` on, in the queue's order."""
    if limit <= 0:
        return []
    return list(work_queue(user).values_list("pk", flat=True)[offset:offset + limit])


def work_queue_page(user, offset: int, limit: int) -> list[Loan]:
    """``limit`` loans of ``user``'s work queue from ``offset`` on, with what the queue's table prints.

    The page's ids first, then their rows: sorting only (status_changed_at, id) keeps a long queue's page cheap,
    where sorting the joined rows cost 100 ms for 20,000 drafts (bench/load.py).
    """
    ids = work_queue_ids(user, offset, limit)
    loans = Loan.objects.select_related("customer", "product", "marketing_officer").only(*QUEUE_FIELDS).in_bulk(ids)
    return [loans[pk] for pk in ids]


# What the queue's table prints (templates/loancenter/home.html): building 200 whole rows (loan, customer, product,
# officer: about 130 columns) took a third of the page's time; a column left out here is read row by row, which the
# query-count pins (tests/web/test_query_counts.py) would catch.
QUEUE_FIELDS = ("application_no", "status", "status_changed_at", "amount", "proposed_amount", "approved_amount",
                "customer__name", "product__name",
                "marketing_officer__username", "marketing_officer__first_name", "marketing_officer__last_name")


# ---------------------------------------------------------------------------------------------------------------
# Rule 23: the facts the investigation verified, and the loans that freeze a customer's


# A customer's verified facts are frozen while they borrow or guarantee a loan submitted and not yet settled,
# withdrawn or rejected (SPEC §16.11); a returned application is a draft again, and frees them.
NOT_FREEZING = (Status.DRAFT, Status.SETTLED, Status.WITHDRAWN, Status.REJECTED)
# The loans a change of a customer's data concerns: their trails show it (rule 23).
NOT_CONCERNED = (Status.SETTLED, Status.WITHDRAWN, Status.REJECTED)


def _loans_of_person(customer_id: int, *, excluding) -> tuple[QuerySet[Loan], QuerySet[Loan]]:
    """The loans ``customer_id`` borrows, and those they guarantee and do not borrow, not in a state ``excluding``.

    Two querysets, each on an index ((customer, status); the guarantor's customer): one query with "customer = c OR
    id IN (guaranteed)" can use neither, and ordered by id it walked the whole book (1.9 s at 1,000,000 loans,
    docs/decisions.md, issue 14 perf).
    """
    own = Loan.objects.filter(customer_id=customer_id).exclude(status__in=excluding)
    guaranteed = (Loan.objects.filter(pk__in=Guarantor.objects.filter(customer_id=customer_id).values("loan_id"))
                  .exclude(customer_id=customer_id).exclude(status__in=excluding))
    return own, guaranteed


def freezing_loan(customer) -> Loan | None:
    """The first loan that freezes ``customer``'s verified facts, or None."""
    firsts = [loans.order_by("pk").first() for loans in _loans_of_person(customer.pk, excluding=NOT_FREEZING)]
    return min((loan for loan in firsts if loan is not None), key=lambda loan: loan.pk, default=None)


def concerned_loans(customer) -> list[Loan]:
    """The loans whose audit trail shows a change of ``customer``'s data: those they borrow or guarantee, not closed."""
    own, guaranteed = _loans_of_person(customer.pk, excluding=NOT_CONCERNED)
    return sorted([*own, *guaranteed], key=lambda loan: loan.pk)


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
    others = Loan.objects.exclude(pk=loan.pk)
    # Two queries, each on an index: their own live loans by (customer, status), the loans they guarantee through
    # the guarantor rows. One query with "borrower = c OR id IN (guaranteed)" read all 1,000,000 loans (the OR
    # defeats both indexes): 480 ms at the load bench's size (docs/decisions.md, issue 14 perf).
    own = others.filter(customer_id=customer_id, status__in=LIVE).aggregate(
        active=Sum("outstanding_principal", filter=Q(status=Status.ACTIVE)),
        approved=Sum("approved_amount", filter=Q(status__in=APPROVED_NOT_DISBURSED)),
    )
    guaranteed = (
        others.filter(pk__in=Guarantor.objects.filter(customer_id=customer_id).values("loan_id"), status=Status.ACTIVE)
        .exclude(customer_id=customer_id).aggregate(sum=Sum("outstanding_principal"))["sum"]
    )
    zero = Decimal("0.00")
    return Exposure(active=own["active"] or zero, approved=own["approved"] or zero,
                    this_loan=Decimal(amount if amount is not None else loan.effective_amount),
                    guaranteed=guaranteed or zero)


def customer_exposures(loans) -> dict[int, Exposure]:
    """:func:`customer_exposure` for a page of loans waiting for their decision (the approver's queue flags those
    above the reader's limit): one query for the page instead of one per loan. Only loans before the decision: such a
    loan adds nothing to the sums of its borrower's other loans (active or approved ones), so leaving each page loan
    out of its own sums, as ``customer_exposure`` does, changes nothing."""
    loans = [loan for loan in loans if loan.status in BEFORE_DECISION]
    if not loans:
        return {}

    def total(rows, column: str):
        return Subquery(rows.order_by().values("customer_id").annotate(s=Sum(column)).values("s")[:1])

    own = Loan.objects.filter(customer_id=OuterRef("pk"))
    guarantees = Guarantor.objects.filter(customer_id=OuterRef("pk"), loan__status=Status.ACTIVE)
    sums = {row["pk"]: row for row in Customer.objects.filter(pk__in={loan.customer_id for loan in loans}).annotate(
        active=total(own.filter(status=Status.ACTIVE), "outstanding_principal"),
        approved=total(own.filter(status__in=APPROVED_NOT_DISBURSED), "approved_amount"),
        guaranteed=total(guarantees, "loan__outstanding_principal"),
    ).values("pk", "active", "approved", "guaranteed")}
    zero = Decimal("0.00")
    return {
        loan.pk: Exposure(active=sums[loan.customer_id]["active"] or zero,
                          approved=sums[loan.customer_id]["approved"] or zero,
                          this_loan=Decimal(loan.effective_amount),
                          guaranteed=sums[loan.customer_id]["guaranteed"] or zero)
        for loan in loans
    }


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
    return customer_other_installments(loan.customer_id, exclude_pk=loan.pk)


def customer_other_installments(customer_id: int, *, exclude_pk: int | None = None) -> Decimal:
    """:func:`other_installments` for a customer (a new application has no loan row yet)."""
    rows = (Loan.objects.filter(customer_id=customer_id, status__in=LIVE).exclude(pk=exclude_pk)
            .values_list("approved_amount", "annual_rate", "approved_term_months", "approved_method"))
    return sum((first_installment(*row) for row in rows if None not in row and row[3]), Decimal("0.00"))


# ---------------------------------------------------------------------------------------------------------------
# How long a loan has waited in its state (the work queue's and the lists' age column)

# A loan waiting longer than this in one state is shown in red on the queues.
STALE_AFTER_DAYS = 3


def waiting_age(changed_at, now) -> tuple[int, int, bool]:
    """How long a loan has waited in its state: whole days, the hours beyond them, and whether it is stale."""
    waited = now - changed_at
    return waited.days, waited.seconds // 3600, waited.days >= STALE_AFTER_DAYS


def waiting_states() -> frozenset[str]:
    """The states in which a loan waits for someone's action: those a work-queue transition starts from (an active
    loan waits for nobody: it repays by its schedule, so no waiting time is shown for it, issue 15 part 10)."""
    return frozenset(t.source for t in declared_transitions() if t.custom.get("queue"))


def with_age(loans, now=None):
    """Annotate each loan with how long it has waited in its state (for the queue's age column); ``waiting`` is false
    for a loan in a state where nobody has to act."""
    now = now or timezone.now()
    waiting = waiting_states()
    for loan in loans:
        loan.waited_days, loan.waited_hours, loan.stale = waiting_age(loan.status_changed_at, now)
        loan.waiting = loan.status in waiting
        loan.waited = now - loan.status_changed_at
        loan.stale = loan.stale and loan.waiting
    return loans
