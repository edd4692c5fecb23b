"""Properties of the demo scorecards (SPEC §16.30): improving one factor never lowers the score, and a weaker
applicant never rates better than a stronger one. The cards are the default ones the data migration installs."""

from __future__ import annotations

import importlib
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from applications.pricing import scoring
from applications.pricing.scoring import RATINGS, Facts

DEFAULTS = importlib.import_module("applications.migrations.0023_default_scorecards")
CARDS = {category: (base, card, DEFAULTS.CUTOFFS) for category, (base, card) in DEFAULTS.DEFAULTS.items()}

money = st.decimals(min_value=0, max_value=200000, places=2)
ratio = st.decimals(min_value=0, max_value=3, places=4)
years = st.decimals(min_value=0, max_value=40, places=1)
counts = st.integers(min_value=0, max_value=30)


def optional(strategy):
    return st.none() | strategy


facts = st.builds(
    Facts, age=st.integers(min_value=18, max_value=75), monthly_income=money, dti=optional(ratio),
    employment_years=optional(years), residence=st.sampled_from(["", "own", "mortgage", "rent", "other"]),
    overdue_count_24m=optional(counts), worst_dpd=optional(st.integers(min_value=0, max_value=400)),
    queries_6m=optional(counts), customer_years=years, ltv=optional(st.decimals(min_value=0, max_value=2, places=4)),
)

RESIDENCE_ORDER = ["other", "rent", "mortgage", "own"]


def improved(f: Facts, factor: str, data) -> Facts:
    """``f`` with ``factor`` better (or equal), everything else as it was. A known value only: "unknown" and "no
    report" are values of their own, not a place on the scale (SPEC §16.4)."""
    if factor == "monthly_income":
        return replace(f, monthly_income=f.monthly_income + data.draw(money))
    if factor == "dti" and f.dti is not None:
        return replace(f, dti=f.dti * data.draw(st.decimals(min_value=0, max_value=1, places=3)))
    if factor == "employment_years" and f.employment_years is not None:
        return replace(f, employment_years=f.employment_years + data.draw(years))
    if factor == "customer_years":
        return replace(f, customer_years=f.customer_years + data.draw(years))
    if factor == "residence" and f.residence:
        better = RESIDENCE_ORDER[RESIDENCE_ORDER.index(f.residence):]
        return replace(f, residence=data.draw(st.sampled_from(better)))
    if factor in ("overdue_count_24m", "worst_dpd", "queries_6m") and getattr(f, factor) is not None:
        value = getattr(f, factor)
        return replace(f, **{factor: data.draw(st.integers(min_value=0, max_value=value))})
    if factor == "ltv" and f.ltv is not None:
        return replace(f, ltv=f.ltv * data.draw(st.decimals(min_value=0, max_value=1, places=3)))
    return f


ORDERED = ["monthly_income", "dti", "employment_years", "residence", "overdue_count_24m", "worst_dpd", "queries_6m",
           "customer_years", "ltv"]


@pytest.mark.parametrize("category", list(CARDS))
@settings(max_examples=300, deadline=None)
@given(f=facts, factor=st.sampled_from(ORDERED), data=st.data())
def test_improving_one_factor_never_lowers_the_score(category, f, factor, data):
    base, card, cutoffs = CARDS[category]
    better = improved(f, factor, data)

    assert scoring.score(card, cutoffs, better, base=base).score >= scoring.score(card, cutoffs, f, base=base).score


@pytest.mark.parametrize("category", list(CARDS))
@settings(max_examples=300, deadline=None)
@given(f=facts, data=st.data())
def test_a_weaker_applicant_never_rates_better_than_a_stronger_one(category, f, data):
    base, card, cutoffs = CARDS[category]
    stronger = f
    for factor in data.draw(st.lists(st.sampled_from(ORDERED), unique=True)):
        stronger = improved(stronger, factor, data)

    weak = scoring.score(card, cutoffs, f, base=base)
    strong = scoring.score(card, cutoffs, stronger, base=base)

    assert RATINGS.index(weak.rating) >= RATINGS.index(strong.rating)


def test_no_income_scores_the_worst_dti_and_unknown_scores_its_own_points():
    base, card, cutoffs = CARDS["consumer"]
    f = Facts(age=40, monthly_income=Decimal("0"), dti=None)
    parts = {p.factor: p.points for p in scoring.score(card, cutoffs, f, base=base).factors}
    assert parts["dti"] == 0 and parts["employment_years"] == 5 and parts["worst_dpd"] == 35
    assert "ltv" not in parts  # unsecured: the factor does not apply


@pytest.mark.parametrize("category", list(CARDS))
def test_the_default_cards_pass_their_own_validation(category):
    base, card, cutoffs = CARDS[category]
    scoring.validate_card(card, cutoffs)


@st.composite
def monotone_cards(draw):
    """Any card the filing check accepts: ascending bands, points that never fall as the factor improves."""
    card = {}
    for code, (_label, direction, missing) in scoring.FACTORS.items():
        if code == "residence":
            points = sorted(draw(st.lists(st.integers(0, 100), min_size=4, max_size=4)), reverse=True)
            card[code] = {"points": {**dict(zip(scoring.RESIDENCES, points, strict=True)),
                                     "unknown": draw(st.integers(0, 100))}}
            continue
        starts = sorted(draw(st.sets(st.integers(0, 100), min_size=1, max_size=6)))
        points = sorted(draw(st.lists(st.integers(0, 100), min_size=len(starts), max_size=len(starts))))
        if direction == scoring.DOWN:
            points.reverse()
        scale = Decimal("0.01") if code in ("dti", "ltv") else Decimal(1000) if code == "monthly_income" else 1
        spec = {"bands": [{"from": str(Decimal(s) * scale), "points": p} for s, p in zip(starts, points, strict=True)]}
        if missing:
            spec[missing] = draw(st.integers(0, 100))
        card[code] = spec
    cutoffs = dict(zip("ABCD", sorted(draw(st.sets(st.integers(0, 1000), min_size=4, max_size=4)), reverse=True),
                       strict=True))
    return card, cutoffs


@settings(max_examples=300, deadline=None)
@given(card=monotone_cards(), f=facts, factor=st.sampled_from(ORDERED), data=st.data())
def test_on_any_card_the_filing_check_accepts_improving_a_factor_never_lowers_the_score(card, f, factor, data):
    factors, cutoffs = card
    scoring.validate_card(factors, cutoffs)

    better = improved(f, factor, data)

    assert scoring.score(factors, cutoffs, better).score >= scoring.score(factors, cutoffs, f).score
