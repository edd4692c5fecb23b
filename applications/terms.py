"""The terms a loan keeps from its approval (SPEC §10 rule 29, §16.31).

At approval the loan copies its pricing and penalty terms from the decision and the product; from then on every money
calculation (the receipt, the schedule, penalty interest in pages and the nightly batch, repayments, prepayment) reads
them from the loan, so that editing a product never reaches back into an approved or active loan.

One value object, :class:`LoanTerms`, and one table of where each term is kept on the loan (``KEPT_ON``). A new term
(the pricing work's LPR and spread) is a field here, a column on ``Loan`` and a line in ``KEPT_ON``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal

RATE_FIXED = "fixed"
RATE_TYPES = (RATE_FIXED, "lpr_1y", "lpr_5y")  # SPEC §15
OPTIONAL_TERMS = frozenset({"spread_bp", "lpr"})  # LPR-linked loans only


@dataclass(frozen=True)
class LoanTerms:
    rate_type: str
    annual_rate: Decimal
    penalty_markup: Decimal
    amount: Decimal
    term_months: int
    repayment_method: str
    spread_bp: int | None = None  # SPEC §16.31: LPR-linked loans keep the spread and the LPR in force at approval
    lpr: Decimal | None = None

    def as_dict(self) -> dict:
        """For the API (SPEC §14 ``terms``): amounts with two decimals, rates as plain decimal strings."""
        data = asdict(self)
        data["amount"] = f"{Decimal(self.amount):.2f}"
        for key in ("annual_rate", "penalty_markup", "lpr"):
            if data[key] is None:
                continue
            text = format(Decimal(data[key]).normalize(), "f")
            data[key] = text if "." in text else f"{text}.0"
        return data


# Each term and the Loan column that keeps it.
KEPT_ON = {
    "rate_type": "rate_type",
    "annual_rate": "annual_rate",
    "penalty_markup": "penalty_markup",
    "amount": "approved_amount",
    "term_months": "approved_term_months",
    "repayment_method": "approved_method",
    "spread_bp": "spread_bp",
    "lpr": "lpr_at_approval",
}
KEPT_FIELDS = list(KEPT_ON.values())


def terms_at_approval(product, *, amount: Decimal, term_months: int, annual_rate: Decimal, method: str,
                      spread_bp: int | None = None, lpr: Decimal | None = None) -> LoanTerms:
    """The terms an approval decides: the approver's figures and the product's pricing and penalty terms of today
    (for an LPR-linked product, the spread and the LPR in force: ``annual_rate`` is their sum, SPEC §16.31)."""
    linked = product.rate_type != RATE_FIXED
    return LoanTerms(rate_type=product.rate_type or RATE_FIXED, annual_rate=annual_rate,
                     penalty_markup=product.penalty_markup, amount=amount, term_months=term_months,
                     repayment_method=method, spread_bp=spread_bp if linked else None, lpr=lpr if linked else None)


def keep_terms(loan, terms: LoanTerms) -> None:
    """Copy ``terms`` onto the loan (saved by the caller with the transition)."""
    for term, column in KEPT_ON.items():
        setattr(loan, column, getattr(terms, term))


def kept_terms(loan) -> LoanTerms | None:
    """The loan's kept terms, or None when it has none (not approved, or approved before rule 29 and not migrated)."""
    values = {term: getattr(loan, column) for term, column in KEPT_ON.items()}
    if not values["rate_type"] or any(value is None for term, value in values.items() if term not in OPTIONAL_TERMS):
        return None
    return LoanTerms(**values)
