"""Money per SPEC §5: Decimal, CNY, two places, ROUND_HALF_UP; daily rate = annual/360, monthly = annual/12."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# SPEC §10: no amount above 10^12 comes in (a 400, never a 500); the money columns hold 14 digits, 2 of them cents.
MAX_AMOUNT = Decimal(10) ** 12



class RepaymentMethod(models.TextChoices):
    EQUAL_INSTALLMENT = "equal_installment", _("Equal installment (等额本息)")
    EQUAL_PRINCIPAL = "equal_principal", _("Equal principal (等额本金)")
    INTEREST_ONLY = "interest_only", _("Monthly interest, principal at maturity")
    BULLET = "bullet", _("Principal and interest at maturity")


EQUAL_INSTALLMENT = RepaymentMethod.EQUAL_INSTALLMENT
EQUAL_PRINCIPAL = RepaymentMethod.EQUAL_PRINCIPAL
INTEREST_ONLY = RepaymentMethod.INTEREST_ONLY
BULLET = RepaymentMethod.BULLET
REPAYMENT_METHODS = tuple(RepaymentMethod.values)


def q2(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def monthly_rate(annual_rate: Decimal) -> Decimal:
    return Decimal(annual_rate) / Decimal(12)


def period_interest(balance: Decimal, annual_rate: Decimal, months: int = 1) -> Decimal:
    """Interest on ``balance`` for ``months`` months: balance × annual rate × months / 12, rounded half-up to the cent
    once (SPEC §5). Not ``balance × monthly_rate(rate)``: a twelfth that does not terminate (4 %: 0.00333…) is cut to
    28 digits first, and an exact half cent (1,501.50 at 4 % = 5.005) then rounds down to 5.00."""
    return q2(Decimal(balance) * Decimal(annual_rate) * months / 12)


def daily_rate(annual_rate: Decimal) -> Decimal:
    return Decimal(annual_rate) / Decimal(360)


def equal_installment_payment(amount: Decimal, annual_rate: Decimal, term_months: int) -> Decimal:
    """等额本息 monthly payment: P·r·(1+r)^n / ((1+r)^n − 1), rounded to the cent."""
    r = monthly_rate(annual_rate)
    if r == 0:
        return q2(Decimal(amount) / term_months)
    growth = (1 + r) ** term_months
    return q2(Decimal(amount) * r * growth / (growth - 1))


def first_installment(amount: Decimal, annual_rate: Decimal, term_months: int, method: str) -> Decimal:
    """The monthly amount the borrower must find in the first month; the figure rule 8 (DTI) uses.

    For a bullet loan nothing is due monthly, so the monthly equivalent of the single repayment
    (principal plus all interest, spread over the term) is used instead of zero.
    """
    amount = Decimal(amount)
    if method == EQUAL_INSTALLMENT:
        return equal_installment_payment(amount, annual_rate, term_months)
    if method == EQUAL_PRINCIPAL:
        return q2(amount / term_months + amount * Decimal(annual_rate) / 12)
    if method == INTEREST_ONLY:
        return period_interest(amount, annual_rate)
    if method == BULLET:
        return q2((amount + amount * Decimal(annual_rate) * term_months / 12) / term_months)
    raise ValueError(f"unknown repayment method {method!r}")


def to_percent(fraction) -> Decimal:
    """0.0435 → Decimal('4.35'): a stored rate or ratio as the percentage a person reads and types (SPEC §16.5)."""
    return (Decimal(str(fraction)) * 100).normalize()


def fmt_rate(fraction) -> str:
    """THE rule for a rate or ratio wherever a person reads it (pages, PDFs, exports; issue 15 part 5): a percentage
    with two decimals, more only when the stored value has them — 0.0435 → "4.35%", 0.039 → "3.90%",
    0.04125 → "4.125%", 0.5 → "50.00%"; "" for no value. The API keeps the fraction."""
    if fraction is None or fraction == "":
        return ""
    pct = to_percent(fraction)
    places = max(2, -pct.as_tuple().exponent if pct.as_tuple().exponent < 0 else 0)
    return f"{pct:.{places}f}%"


def fmt_pct(ratio: Decimal, places: int = 1) -> str:
    """0.625 → '62.5%'; with places=2, 0.0435 → '4.35%' (no trailing zero)."""
    pct = (Decimal(ratio) * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP).normalize()
    return f"{pct:f}%"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ["", "拾", "佰", "仟"]
_BIG_UNITS = ["", "万", "亿", "万亿"]


def amount_in_words(value: Decimal) -> str:
    """Capitalised Chinese amount (大写金额) as written on receipts: 2934.64 → 贰仟玖佰叁拾肆元陆角肆分."""
    value = q2(value)
    if value < 0:
        raise ValueError("negative amount")
    yuan = int(value)
    jiao, fen = divmod(int((value - yuan) * 100), 10)
    if yuan == 0 and jiao == 0 and fen == 0:
        return "零元整"
    words = ""
    if yuan:
        groups = []
        while yuan:
            groups.append(yuan % 10000)
            yuan //= 10000
        parts = []
        need_zero = False
        for index in range(len(groups) - 1, -1, -1):
            group = groups[index]
            if group == 0:
                need_zero = bool(parts)
                continue
            text = ""
            zero = need_zero or (parts and group < 1000)
            for pos in range(3, -1, -1):
                digit = group // 10**pos % 10
                if digit == 0:
                    zero = zero or bool(text)
                    continue
                if zero and (text or parts):
                    text += "零"
                zero = False
                text += _DIGITS[digit] + _SMALL_UNITS[pos]
            parts.append(text + _BIG_UNITS[index])
            need_zero = False
        words = "".join(parts) + "元"
    if jiao == 0 and fen == 0:
        return words + "整"
    if jiao:
        words += _DIGITS[jiao] + "角"
    elif words:
        words += "零"
    if fen:
        words += _DIGITS[fen] + "分"
    else:
        words += "整"
    return words


class MoneyField(models.DecimalField):
    """A money column (SPEC §5): Decimal CNY with two places; 14 digits hold any amount that comes in (< 10^12),
    sums over the whole book (snapshots, period figures) pass ``max_digits=18``. Every money column is one.

    Migrations see the plain ``DecimalField`` with its digits, as before: the column is the same, so the field class
    is no schema change.
    """

    def __init__(self, *args, max_digits: int = 14, decimal_places: int = 2, **kwargs):
        super().__init__(*args, max_digits=max_digits, decimal_places=decimal_places, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs
