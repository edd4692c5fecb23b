"""A default points scorecard per product category (SPEC §16.18), active from the start so that a fresh database
rates its first investigation. How the points were chosen: docs/decisions.md, "Risk rating: the default scorecards".
"""

from django.db import migrations


def _bands(*pairs):
    return {"bands": [{"from": start, "points": points} for start, points in pairs]}


def _card(*, income, dti, employment, ltv=None, age_young=20):
    card = {
        # Age: no order (the young and the old are both less stable); the thirties and forties score best.
        "age": _bands((0, age_young), (25, 45), (35, 55), (50, 40), (60, 20)),
        "monthly_income": _bands(*income),
        "dti": _bands(*dti),
        "employment_years": {**_bands(*employment), "unknown": 5},
        "residence": {"points": {"own": 50, "mortgage": 40, "rent": 20, "other": 10, "unknown": 10}},
        "overdue_count_24m": {**_bands((0, 70), (1, 45), (3, 15), (6, 0)), "no_report": 35},
        "worst_dpd": {**_bands((0, 70), (1, 50), (31, 20), (61, 5), (91, 0)), "no_report": 35},
        "queries_6m": {**_bands((0, 40), (3, 30), (6, 10), (10, 0)), "no_report": 20},
        "customer_years": _bands((0, 0), (1, 10), (3, 20), (5, 30)),
    }
    if ltv:
        card["ltv"] = _bands(*ltv)
    return card


DTI = [(0, 90), ("0.30", 70), ("0.40", 45), ("0.50", 20), ("0.60", 0)]
EMPLOYMENT = [(0, 0), (1, 15), (3, 30), (5, 45), (10, 55)]
CUTOFFS = {"A": 720, "B": 660, "C": 600, "D": 540}

DEFAULTS = {
    "consumer": (300, _card(income=[(0, 0), (3000, 20), (6000, 40), (10000, 60), (20000, 75), (50000, 85)],
                             dti=DTI, employment=EMPLOYMENT)),
    # Business owners: income and the time the business has run (its years in the job) weigh more, lower bands.
    "business": (300, _card(income=[(0, 0), (5000, 20), (10000, 40), (20000, 60), (50000, 75), (100000, 85)],
                             dti=DTI, employment=[(0, 0), (1, 10), (2, 25), (3, 40), (5, 55)])),
    # Secured categories weigh the collateral (LTV) and start from a lower base, so that the same borrower lands in
    # the same rating as on the consumer card at an LTV of about 60 %.
    "housing": (270, _card(income=[(0, 0), (3000, 20), (6000, 40), (10000, 60), (20000, 75), (50000, 85)],
                            dti=DTI, employment=EMPLOYMENT,
                            ltv=[(0, 60), ("0.50", 45), ("0.60", 30), ("0.70", 10), ("0.80", 0)])),
    "auto": (270, _card(income=[(0, 0), (3000, 20), (6000, 40), (10000, 60), (20000, 75), (50000, 85)],
                         dti=DTI, employment=EMPLOYMENT,
                         ltv=[(0, 60), ("0.50", 45), ("0.60", 30), ("0.70", 10), ("0.80", 0)])),
}


def create(apps, schema_editor):
    ScorecardVersion = apps.get_model("applications", "ScorecardVersion")
    for category, (base, factors) in DEFAULTS.items():
        if not ScorecardVersion.objects.filter(category=category).exists():
            ScorecardVersion.objects.create(category=category, number=1, base_points=base, factors=factors,
                                            cutoffs=CUTOFFS, status="active",
                                            note="Default card (docs/decisions.md).")


def remove(apps, schema_editor):
    ScorecardVersion = apps.get_model("applications", "ScorecardVersion")
    ScorecardVersion.objects.filter(number=1, filed_by__isnull=True, rated_loans__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("applications", "0022_pricing_scorecards_rate_grid")]
    operations = [migrations.RunPython(create, remove)]
