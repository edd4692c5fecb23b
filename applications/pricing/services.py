"""Scorecard versions (filed by one person, approved by another), the rating kept on a loan, and the rate grid's
check of a proposal or an approval with the overrides it records (SPEC §15, §16.30)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.models import Loan, Product, Status
from applications.pricing import scoring
from applications.pricing.models import RateGridRow, RateOverride, ScorecardVersion
from applications.selectors import other_installments
from applications.workflow import audit, jsonable
from loancenter import posts as P
from loancenter.lib.dates import age_on
from loancenter.lib.errors import InvalidState, RuleViolation
from loancenter.lib.money import first_installment
from loancenter.refusals import recorded
from loancenter.rules import check_maker_checker

CARD_POSTS = (P.GENERAL, P.MANAGER)


# ---------------------------------------------------------------------------------------------------------------
# Scorecard versions


@recorded("scorecard_file", posts=CARD_POSTS)
def scorecard_file(*, actor, category: str, factors: dict, cutoffs: dict, base_points: int = 0,
                   note: str = "") -> ScorecardVersion:
    """File a new version of a category's card; it is used once another person approves it."""
    from applications.catalog import CATEGORIES

    if category not in CATEGORIES:
        raise RuleViolation("category", _("Choose a product category."), field="category")
    try:
        scoring.validate_card(factors, cutoffs)
    except scoring.CardError as error:
        raise RuleViolation("invalid_scorecard", str(error), field="factors") from None
    with transaction.atomic():
        # The category's versions are numbered one after another; the lock keeps two filings apart.
        list(ScorecardVersion.objects.select_for_update().filter(category=category).values_list("pk", flat=True))
        number = (ScorecardVersion.objects.filter(category=category).aggregate(n=Max("number"))["n"] or 0) + 1
        version = ScorecardVersion.objects.create(category=category, number=number, base_points=int(base_points),
                                                  factors=factors, cutoffs=cutoffs, note=(note or "").strip(),
                                                  filed_by=actor)
        audit(actor=actor, action="scorecard_file", obj=version,
              payload={"category": category, "number": number, "base_points": base_points, "factors": factors,
                       "cutoffs": cutoffs, "note": note})
    return version


@recorded("scorecard_approve", posts=CARD_POSTS)
def scorecard_approve(*, version_id: int, actor) -> ScorecardVersion:
    """Maker ≠ checker: another person puts the filed version in use; the category's card before it retires."""
    with transaction.atomic():
        version = ScorecardVersion.objects.select_for_update().get(pk=version_id)
        if version.status != ScorecardVersion.State.PENDING:
            raise InvalidState(_("Scorecard %(card)s is not waiting for approval.") % {"card": version})
        check_maker_checker(version.filed_by, actor, what=_("filed this scorecard version"))
        for old in ScorecardVersion.objects.select_for_update().filter(category=version.category,
                                                                        status=ScorecardVersion.State.ACTIVE):
            old.retire()
            old.save(update_fields=["status"])
        version.approve()
        version.decided_by, version.decided_at = actor, timezone.now()
        version.save(update_fields=["status", "decided_by", "decided_at"])
        audit(actor=actor, action="scorecard_approve", obj=version, payload={"number": version.number})
    return version


@recorded("scorecard_reject", posts=CARD_POSTS)
def scorecard_reject(*, version_id: int, actor, reason: str = "") -> ScorecardVersion:
    with transaction.atomic():
        version = ScorecardVersion.objects.select_for_update().get(pk=version_id)
        if version.status != ScorecardVersion.State.PENDING:
            raise InvalidState(_("Scorecard %(card)s is not waiting for approval.") % {"card": version})
        check_maker_checker(version.filed_by, actor, what=_("filed this scorecard version"))
        version.reject()
        version.decided_by, version.decided_at = actor, timezone.now()
        version.save(update_fields=["status", "decided_by", "decided_at"])
        audit(actor=actor, action="scorecard_reject", obj=version, payload={"reason": reason})
    return version


def active_card(category: str) -> ScorecardVersion | None:
    return ScorecardVersion.objects.filter(category=category, status=ScorecardVersion.State.ACTIVE).first()


# ---------------------------------------------------------------------------------------------------------------
# The rating kept on a loan


@dataclass(frozen=True)
class Bureau:
    """The latest pre-loan credit report's structured result (SPEC §16.22); all None: no report."""

    overdue_count_24m: int | None = None
    worst_dpd: int | None = None
    queries_6m: int | None = None
    new_debt: Decimal | None = None


def _years_between(start: date, end: date) -> Decimal:
    return (Decimal((end - start).days) / Decimal("365.25")).quantize(Decimal("0.1"))


def rating_facts(loan: Loan, *, bureau: Bureau, on: date) -> scoring.Facts:
    """What the card reads (SPEC §15, §16.30), from the facts the investigation verified (rule 23): age from the
    verified birth date, the verified income, DTI after this loan (the verified debt, the installments of the
    borrower's other loans here, the credit report's new debt and this loan's first installment at the recommended
    amount and term and the product's maximum rate), the credit report's counts, and for secured loans LTV on the
    verified appraisals."""
    product = loan.product
    customer = loan.customer
    investigation = loan.current_investigation
    amount = (investigation.recommended_amount if investigation and investigation.recommended_amount else loan.amount)
    term = (investigation.recommended_term_months if investigation and investigation.recommended_term_months
            else loan.term_months)
    income = loan.verified_monthly_income or Decimal("0")
    # The report's ``new_debt`` is a balance, not a monthly payment: it is kept with the facts, not added here.
    debt = (loan.verified_monthly_debt or Decimal("0")) + other_installments(loan)
    installment = first_installment(amount, product.max_rate, term, loan.repayment_method)
    dti = ((debt + installment) / income).quantize(Decimal("0.0001")) if income > 0 else None
    ltv = None
    if product.secured:
        appraised = sum((c.verified_appraised_value or c.appraised_value for c in loan.collaterals.all()), Decimal("0"))
        ltv = (Decimal(amount) / appraised).quantize(Decimal("0.0001")) if appraised > 0 else Decimal("9.9999")
    created = timezone.localdate(customer.created_at) if customer.created_at else on
    return scoring.Facts(
        age=age_on(loan.verified_birth_date or customer.birth_date, on), monthly_income=income, dti=dti,
        employment_years=customer.employment_years, residence=customer.residence,
        overdue_count_24m=bureau.overdue_count_24m, worst_dpd=bureau.worst_dpd, queries_6m=bureau.queries_6m,
        customer_years=_years_between(created, on), ltv=ltv,
    )


def rate_loan(loan: Loan, *, bureau: Bureau, on: date | None = None) -> scoring.Result | None:
    """Compute and keep the loan's rating on its category's card in use (the loan row is saved by the transition
    that calls this: the completed investigation). No card in use: the loan stays unrated."""
    on = on or timezone.localdate()
    version = active_card(loan.product.category)
    if version is None:
        clear_rating(loan)
        return None
    facts = rating_facts(loan, bureau=bureau, on=on)
    result = scoring.score(version.factors, version.cutoffs, facts, base=version.base_points)
    loan.score, loan.rating = result.score, result.rating
    loan.rating_reasons = [reason.as_dict() for reason in result.reasons]
    loan.rating_facts = jsonable({**facts.as_dict(), "new_debt": bureau.new_debt})
    loan.scorecard_version = version
    loan.rated_at = timezone.now()
    return result


def clear_rating(loan: Loan) -> None:
    """A loan returned to marketing is rated again when it is investigated again (SPEC §15)."""
    loan.score, loan.rating, loan.rating_reasons, loan.rating_facts = None, "", [], {}
    loan.scorecard_version, loan.rated_at = None, None


def reason_text(reason: dict) -> str:
    label = scoring.FACTORS.get(reason.get("factor"), (reason.get("factor"),))[0]
    return _("%(factor)s: %(points)s of %(max)s points") % {"factor": label, "points": reason.get("points"),
                                                            "max": reason.get("max_points")}


# ---------------------------------------------------------------------------------------------------------------
# The rate grid


def grid_row(product: Product, rating: str) -> RateGridRow | None:
    return next((row for row in product.rate_grid.all() if row.rating == rating), None)


def grid_deviations(loan: Loan, *, amount: Decimal, annual_rate: Decimal | None, spread_bp: int | None,
                    step: str) -> list[dict]:
    """How a proposal or an approval lies outside the loan's row of its product's grid (SPEC §15, §16.30): below or
    above the row's rate (or spread, for an LPR-linked product) range, above its amount, or an approval of an ``E``.
    A product without a grid, or a loan without a rating, has no such constraint; a rating without a row (other than
    approving an ``E``) neither."""
    product = loan.product
    if not loan.rating or not product.rate_grid.exists():
        return []
    found = []
    if step == "approve" and loan.rating == "E":
        found.append({"code": "rating_e", "text": _("the card recommends declining (rating E)")})
    row = grid_row(product, loan.rating)
    if row is None:
        return found
    lpr_linked = getattr(product, "rate_type", "fixed") not in ("", "fixed")
    if lpr_linked and spread_bp is not None:
        if row.min_spread_bp is not None and spread_bp < row.min_spread_bp:
            found.append({"code": "spread_below", "text": _("spread %(v)s bp below the grid's %(b)s bp")
                          % {"v": spread_bp, "b": row.min_spread_bp}})
        if row.max_spread_bp is not None and spread_bp > row.max_spread_bp:
            found.append({"code": "spread_above", "text": _("spread %(v)s bp above the grid's %(b)s bp")
                          % {"v": spread_bp, "b": row.max_spread_bp}})
    elif annual_rate is not None:
        pct = lambda r: f"{Decimal(r) * 100:.2f}%"  # noqa: E731
        if row.min_rate is not None and annual_rate < row.min_rate:
            found.append({"code": "rate_below", "text": _("rate %(v)s below the grid's %(b)s")
                          % {"v": pct(annual_rate), "b": pct(row.min_rate)}})
        if row.max_rate is not None and annual_rate > row.max_rate:
            found.append({"code": "rate_above", "text": _("rate %(v)s above the grid's %(b)s")
                          % {"v": pct(annual_rate), "b": pct(row.max_rate)}})
    if row.max_amount is not None and amount > row.max_amount:
        found.append({"code": "amount_above", "text": _("amount %(v)s above the grid's %(b)s")
                      % {"v": f"{amount:,.2f}", "b": f"{row.max_amount:,.2f}"}})
    return found


def check_rate_grid(loan: Loan, *, amount: Decimal, annual_rate: Decimal | None, spread_bp: int | None = None,
                    step: str, override_reason: str = "") -> list[dict]:
    """Refuse (400 ``outside_rate_grid``) a proposal or an approval outside the grid without an ``override_reason``;
    with one, return what lies outside, for :func:`record_override` once the transition is made."""
    deviations = grid_deviations(loan, amount=amount, annual_rate=annual_rate, spread_bp=spread_bp, step=step)
    if deviations and not (override_reason or "").strip():
        raise RuleViolation("outside_rate_grid", _(
            "Outside the rate grid for rating %(rating)s of %(product)s: %(what)s. Give an override reason to go "
            "ahead (it is recorded as an override).") % {
                "rating": loan.rating, "product": loan.product.name,
                "what": "; ".join(str(d["text"]) for d in deviations)}, field="override_reason")
    return deviations


def record_override(loan: Loan, *, actor, step: str, deviations: list[dict], amount: Decimal,
                    annual_rate: Decimal | None, spread_bp: int | None, reason: str) -> RateOverride | None:
    if not deviations:
        return None
    return RateOverride.objects.create(loan=loan, step=step, actor=actor, rating=loan.rating, amount=amount,
                                       annual_rate=annual_rate, spread_bp=spread_bp,
                                       deviations=jsonable(deviations), reason=reason.strip())


# ---------------------------------------------------------------------------------------------------------------
# A product's grid, replaced as a whole (the product form, the admin inline and the API's ``rate_grid``)


def grid_rows_valid(rows: list[dict]) -> None:
    seen = set()
    for row in rows:
        rating = row.get("rating")
        if rating not in scoring.RATINGS:
            raise RuleViolation("rate_grid", _("Each grid row names a rating A to E."), field="rate_grid")
        if rating in seen:
            raise RuleViolation("rate_grid", _("Rating %(r)s appears twice in the grid.") % {"r": rating},
                                field="rate_grid")
        seen.add(rating)
        for low, high in (("min_rate", "max_rate"), ("min_spread_bp", "max_spread_bp")):
            if row.get(low) is not None and row.get(high) is not None and row[low] > row[high]:
                raise RuleViolation("rate_grid", _("Rating %(r)s: the minimum is above the maximum.") % {"r": rating},
                                    field="rate_grid")


def product_set_rate_grid(product: Product, rows: list[dict]) -> None:
    """Replace the product's grid (inside the product edit's transaction). Kept terms are not touched (rule 29)."""
    grid_rows_valid(rows)
    keep = ("rating", "min_rate", "max_rate", "min_spread_bp", "max_spread_bp", "max_amount")
    current = {row.rating: row for row in product.rate_grid.all()}
    wanted = {row["rating"]: {k: row.get(k) for k in keep} for row in rows}
    RateGridRow.objects.filter(product=product).exclude(rating__in=list(wanted)).delete()
    for rating, values in wanted.items():
        row = current.get(rating)
        if row is None:
            RateGridRow.objects.create(product=product, **values)
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.save()


def override_rate_by_approver(loans=None, start=None, end=None) -> list[dict]:
    """The override rate per approver (SPEC §15): approvals they gave and how many were overrides; ``loans``: the
    reader's scope (a queryset of loans), all by default."""
    from django.db.models import Count, Exists, OuterRef, Q

    approvals = (Loan.objects.all() if loans is None else loans).filter(
        approver__isnull=False, decided_at__isnull=False, stage_reached__gte=6)
    approvals = approvals.exclude(status=Status.REJECTED)
    if start:
        approvals = approvals.filter(decided_at__date__gte=start)
    if end:
        approvals = approvals.filter(decided_at__date__lte=end)
    overridden = RateOverride.objects.filter(loan=OuterRef("pk"), step="approve")
    rows = (approvals.annotate(overridden=Exists(overridden))
            .values("approver__username", "approver__first_name", "approver__last_name")
            .annotate(approvals=Count("id"), overrides=Count("id", filter=Q(overridden=True)))
            .order_by("approver__username"))
    return [{**row, "rate": (Decimal(row["overrides"]) / row["approvals"]) if row["approvals"] else None}
            for row in rows]

