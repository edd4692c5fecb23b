"""The points scorecard, pure: facts and a card in, the score, the rating and the reasons out (SPEC §15, §16.30).

A card is a mapping of factor code → bands, kept as JSON on a ``ScorecardVersion``:

- a numeric factor has ``bands``: ``[{"from": 0, "points": 0}, {"from": 3000, "points": 20}, …]``, ascending by
  ``from``; a value lands in the last band whose ``from`` it reaches. ``unknown`` (or ``no_report`` for the
  credit-report factors) are the points of a missing value: unknown is a value of its own (SPEC §16.4);
- ``residence`` has ``points`` per code (``own``, ``mortgage``, ``rent``, ``other``, ``unknown``).

Each factor has a direction (``UP``: more is better, ``DOWN``: less is better, ``NONE``: no order, the age): a card
is accepted only if its points never fall as a factor improves, so that improving one factor never lowers the score
(the property test in tests/pricing). The cut-offs name the lowest score of each rating ``A``…``D``; below ``D``'s is
``E`` (the card recommends decline).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

UP, DOWN, NONE = "up", "down", "none"
RATINGS = ("A", "B", "C", "D", "E")
RESIDENCES = ("own", "mortgage", "rent", "other")  # best first (SPEC §16.18)

# The factors of SPEC §15, in the order they are shown; (label, direction, what a missing value is called).
FACTORS: dict[str, tuple] = {
    "age": (_("Age band"), NONE, None),
    "monthly_income": (_("Monthly income"), UP, None),
    "dti": (_("Debt-to-income after this loan"), DOWN, None),
    "employment_years": (_("Years in the current job"), UP, "unknown"),
    "residence": (_("Residence"), UP, "unknown"),
    "overdue_count_24m": (_("Credit report: overdue count in 24 months"), DOWN, "no_report"),
    "worst_dpd": (_("Credit report: worst days past due"), DOWN, "no_report"),
    "queries_6m": (_("Credit report: queries in 6 months"), DOWN, "no_report"),
    "customer_years": (_("Years as a customer"), UP, None),
    "ltv": (_("Loan-to-value (secured loans)"), DOWN, None),
}
SECURED_ONLY = frozenset({"ltv"})


class CardError(ValueError):
    """A card that cannot be used: the message says what is wrong."""


@dataclass(frozen=True)
class Facts:
    """What the card reads, as the investigation verified it (rule 23). ``None``: unknown / no report."""

    age: int
    monthly_income: Decimal
    dti: Decimal | None  # None: no income, the worst band
    employment_years: Decimal | None = None
    residence: str = ""
    overdue_count_24m: int | None = None
    worst_dpd: int | None = None
    queries_6m: int | None = None
    customer_years: Decimal = Decimal("0")
    ltv: Decimal | None = None  # None: unsecured, the factor does not apply

    def as_dict(self) -> dict:
        return {name: (str(value) if isinstance(value, Decimal) else value) for name, value in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: Mapping) -> Facts:
        def dec(value):
            return None if value is None else Decimal(str(value))

        return cls(age=int(data["age"]), monthly_income=Decimal(str(data["monthly_income"])), dti=dec(data.get("dti")),
                   employment_years=dec(data.get("employment_years")), residence=data.get("residence") or "",
                   overdue_count_24m=data.get("overdue_count_24m"), worst_dpd=data.get("worst_dpd"),
                   queries_6m=data.get("queries_6m"), customer_years=Decimal(str(data.get("customer_years") or 0)),
                   ltv=dec(data.get("ltv")))


@dataclass(frozen=True)
class FactorScore:
    factor: str
    value: object
    points: int
    max_points: int

    @property
    def lost(self) -> int:
        return self.max_points - self.points

    def as_dict(self) -> dict:
        value = str(self.value) if isinstance(self.value, Decimal) else self.value
        return {"factor": self.factor, "value": value, "points": self.points, "max_points": self.max_points}


@dataclass(frozen=True)
class Result:
    score: int
    rating: str
    factors: list[FactorScore] = field(default_factory=list)

    @property
    def reasons(self) -> list[FactorScore]:
        """The three factors that cost the most points (SPEC §15): ties in the card's order; none that cost nothing."""
        order = list(FACTORS)
        costly = sorted((f for f in self.factors if f.lost > 0), key=lambda f: (-f.lost, order.index(f.factor)))
        return costly[:3]


def _num(value) -> Decimal:
    return Decimal(str(value))


def _band_points(spec: Mapping, value) -> int:
    bands = spec["bands"]
    points = bands[0]["points"]
    for band in bands:
        if value >= _num(band["from"]):
            points = band["points"]
        else:
            break
    return int(points)


def _max_points(code: str, spec: Mapping) -> int:
    if code == "residence":
        return max(int(p) for p in spec["points"].values())
    values = [int(b["points"]) for b in spec["bands"]]
    missing = FACTORS[code][2]
    if missing and missing in spec:
        values.append(int(spec[missing]))
    return max(values)


def factor_points(code: str, spec: Mapping, value) -> int:
    if code == "residence":
        points = spec["points"]
        return int(points.get(value or "unknown", points.get("unknown", 0)))
    missing = FACTORS[code][2]
    if value is None:
        if missing is None:  # the DTI of a borrower with no income: the worst band
            return int(spec["bands"][-1]["points"] if FACTORS[code][1] == DOWN else spec["bands"][0]["points"])
        return int(spec.get(missing, 0))
    return _band_points(spec, value)


def score(card: Mapping, cutoffs: Mapping, facts: Facts, *, base: int = 0) -> Result:
    parts = []
    for code in FACTORS:
        if code not in card:
            continue
        value = getattr(facts, code)
        if code in SECURED_ONLY and value is None:
            continue  # an unsecured loan: the factor does not apply
        spec = card[code]
        parts.append(FactorScore(code, value, factor_points(code, spec, value), _max_points(code, spec)))
    total = int(base) + sum(p.points for p in parts)
    return Result(total, rating_for(total, cutoffs), parts)


def rating_for(total: int, cutoffs: Mapping) -> str:
    for rating in RATINGS[:-1]:
        if total >= int(cutoffs[rating]):
            return rating
    return "E"


def validate_card(card: Mapping, cutoffs: Mapping) -> None:
    """Refuse a card that cannot be read, or whose points fall as a factor improves (SPEC §16.30)."""
    if not isinstance(card, Mapping):  # JSON input: a list, a number or true is no card (it was a 500)
        raise CardError(_("The factors must map each factor to its bands."))
    unknown = set(card) - set(FACTORS)
    if unknown:
        raise CardError(_("Unknown factors: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    for code, spec in card.items():
        label, direction, missing = FACTORS[code]
        try:
            if code == "residence":
                points = [int(spec["points"][r]) for r in RESIDENCES]
                int(spec["points"].get("unknown", 0))
                if any(a < b for a, b in zip(points, points[1:], strict=False)):
                    raise CardError(_("%(factor)s: owning must score at least a mortgage, a mortgage at least "
                                      "renting, renting at least other.") % {"factor": label})
                continue
            bands = spec["bands"]
            starts = [_num(b["from"]) for b in bands]
            points = [int(b["points"]) for b in bands]
            if missing:
                int(spec.get(missing, 0))
        except (KeyError, TypeError, ValueError, ArithmeticError) as error:
            if isinstance(error, CardError):
                raise
            raise CardError(_("%(factor)s: each band needs a number “from” and whole “points”.")
                            % {"factor": label}) from None
        if not bands:
            raise CardError(_("%(factor)s: at least one band.") % {"factor": label})
        if any(a >= b for a, b in zip(starts, starts[1:], strict=False)):
            raise CardError(_("%(factor)s: the bands must go up.") % {"factor": label})
        if direction == UP and any(a > b for a, b in zip(points, points[1:], strict=False)):
            raise CardError(_("%(factor)s: points must not fall as the value grows.") % {"factor": label})
        if direction == DOWN and any(a < b for a, b in zip(points, points[1:], strict=False)):
            raise CardError(_("%(factor)s: points must not grow as the value grows.") % {"factor": label})
    try:
        cuts = [int(cutoffs[r]) for r in RATINGS[:-1]]
    except (KeyError, TypeError, ValueError, ArithmeticError):
        raise CardError(_("Give the lowest score of each rating A to D.")) from None
    if any(a <= b for a, b in zip(cuts, cuts[1:], strict=False)):
        raise CardError(_("The cut-offs must fall from A to D."))
