"""Pricing an LPR-linked loan (SPEC §15, §16.31): the rate is the LPR in force plus the spread in basis points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from applications.catalog import LPR_RATE_TYPES
from applications.lpr.models import LprPublication
from applications.lpr.selectors import lpr_in_force
from loancenter.lib.errors import RuleViolation

BP = Decimal("0.0001")
MAX_SPREAD_BP = 5000  # ±50 %: a spread beyond it is a typo


@dataclass(frozen=True)
class Price:
    annual_rate: Decimal
    spread_bp: int | None = None
    publication: LprPublication | None = None

    @property
    def lpr(self) -> Decimal | None:
        return None if self.publication is None else self.publication.rate(self.rate_type)

    rate_type: str = "fixed"


def linked_rate(lpr: Decimal, spread_bp: int) -> Decimal:
    return Decimal(lpr) + spread_bp * BP


def spread_words(spread_bp: int | None) -> str:
    """How Chinese loan papers state it: "LPR 加 35 个基点" / "LPR 减 20 个基点" (in the reader's language)."""
    if spread_bp is None:
        return ""
    if spread_bp < 0:
        return _("LPR minus %(n)s basis points") % {"n": -spread_bp}
    return _("LPR plus %(n)s basis points") % {"n": spread_bp}


def price(product, *, annual_rate: Decimal | None, spread_bp: int | None, on: date) -> Price:
    """The rate a proposal or an approval decides: for a fixed product the rate sent; for an LPR-linked product the LPR
    in force on ``on`` plus ``spread_bp`` (an ``annual_rate`` sent with it must be that sum: 400 ``rate_mismatch``)."""
    if product.rate_type not in LPR_RATE_TYPES:
        if spread_bp is not None:
            raise RuleViolation("spread_not_applicable", _("This product has a fixed rate; it takes no spread."),
                                field="spread_bp")
        if annual_rate is None:
            raise RuleViolation("annual_rate", _("Enter the annual rate."), field="annual_rate")
        return Price(annual_rate=annual_rate)
    if spread_bp is None:
        raise RuleViolation("spread_required", _("This product is priced on the LPR: enter the spread in basis points "
                                                 "(negative below the LPR)."), field="spread_bp")
    if abs(spread_bp) > MAX_SPREAD_BP:
        raise RuleViolation("spread_bp", _("A spread is at most %(n)s basis points either way.") % {"n": MAX_SPREAD_BP},
                            field="spread_bp")
    publication = lpr_in_force(on)
    if publication is None:
        raise RuleViolation("no_lpr", _("No LPR publication is in force: one must be recorded and confirmed by a "
                                        "second person first."), field="spread_bp")
    rate = linked_rate(publication.rate(product.rate_type), spread_bp)
    if rate <= 0:
        raise RuleViolation("spread_bp", _("LPR %(lpr)s with this spread gives no positive rate.")
                            % {"lpr": publication.rate(product.rate_type)}, field="spread_bp")
    if annual_rate is not None and Decimal(annual_rate) != rate:
        raise RuleViolation("rate_mismatch", _("The rate must be the LPR in force (%(lpr)s, published %(d)s) plus the "
                                               "spread: %(rate)s, not %(sent)s.")
                            % {"lpr": publication.rate(product.rate_type), "d": publication.published_on.isoformat(),
                               "rate": rate.normalize(), "sent": Decimal(annual_rate).normalize()}, field="annual_rate")
    return Price(annual_rate=rate, spread_bp=spread_bp, publication=publication, rate_type=product.rate_type)
