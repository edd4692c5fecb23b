"""Template helpers for loan lists (the work queue draws 50 rows a page)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from html import escape
from typing import NamedTuple

from django import template
from django.conf import settings
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import DateFormat, re_escaped, re_formatchars
from django.utils.dates import MONTHS, MONTHS_3, MONTHS_ALT, MONTHS_AP, WEEKDAYS, WEEKDAYS_ABBR
from django.utils.formats import get_format, localize
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import get_language, gettext

from applications.models import Status

register = template.Library()

_LABELS: dict[tuple, dict[str, str]] = {}


def _labels(name: str, choices) -> dict[str, str]:
    """Each choice's label in the active language, what ``get_FOO_display`` gives.

    Django's ``get_FOO_display`` rebuilds a dict of every choice and translates each label on every call (15
    translations per row of loans); the labels only depend on the language, so they are translated once per language.
    """
    key = (name, get_language())
    labels = _LABELS.get(key)
    if labels is None:
        labels = _LABELS[key] = {value: str(label) for value, label in choices}
    return labels


def _status_labels() -> dict[str, str]:
    """A loan state's label in the active language (``loan.get_status_display``)."""
    return _labels("loan", Status.choices)


def _number_formatter() -> Callable:
    """``{{ n }}`` for an integer: ``str`` unless the locale groups or signs numbers its own way."""
    return str if localize(1234567) == "1234567" and localize(-7) == "-7" else _text


class LoanRow(NamedTuple):
    """What one row of the loan table prints, read as plain values (the work queue never builds a Loan for it)."""

    pk: int
    label: str  # str(loan)
    customer: str  # loan.customer.name
    product: str  # loan.product.name
    amount: Decimal  # loan.effective_amount
    status: str
    status_changed_at: datetime
    officer: str  # loan.marketing_officer.display
    waited_days: int  # these three: loancenter.views.with_age
    waited_hours: int
    stale: bool

    @classmethod
    def of(cls, loan) -> LoanRow:
        """The row of a Loan annotated by ``with_age``."""
        return cls(loan.pk, str(loan), loan.customer.name, loan.product.name, loan.effective_amount, loan.status,
                   loan.status_changed_at, loan.marketing_officer.display, loan.waited_days, loan.waited_hours,
                   loan.stale)


def _text(value) -> str:
    """A value as ``{{ value }}`` prints it: local time, localized, escaped."""
    return conditional_escape(localize(template_localtime(value)))


def _twelve(d: datetime) -> str:
    """DateFormat.f: the 12-hour time, minutes left off when zero."""
    hour = d.hour % 12 or 12
    return f"{hour}:{d.minute:02d}" if d.minute else str(hour)


def _format_characters() -> dict[str, Callable[[datetime], str]]:
    """What the commonest date format characters print, as ``django.utils.dateformat.DateFormat`` prints them, with
    the words (month names, a.m./p.m.) translated once into the active language rather than once per value."""
    am_pm, upper = (gettext("a.m."), gettext("p.m.")), (gettext("AM"), gettext("PM"))
    midnight, noon = gettext("midnight"), gettext("noon")
    months_ap, months, months_3 = ({k: str(v) for k, v in names.items()} for names in (MONTHS_AP, MONTHS, MONTHS_3))
    months_alt = {k: str(v) for k, v in MONTHS_ALT.items()}
    weekdays, weekdays_abbr = ({k: str(v) for k, v in names.items()} for names in (WEEKDAYS, WEEKDAYS_ABBR))

    def p(d: datetime) -> str:
        if not d.minute and d.hour in (0, 12):
            return midnight if d.hour == 0 else noon
        return f"{_twelve(d)} {am_pm[d.hour > 11]}"

    return {
        "d": lambda d: f"{d.day:02d}", "j": lambda d: str(d.day),
        "m": lambda d: f"{d.month:02d}", "n": lambda d: str(d.month),
        "y": lambda d: f"{d.year % 100:02d}", "Y": lambda d: f"{d.year:04d}",
        "H": lambda d: f"{d.hour:02d}", "G": lambda d: str(d.hour),
        "h": lambda d: f"{d.hour % 12 or 12:02d}", "g": lambda d: str(d.hour % 12 or 12),
        "i": lambda d: f"{d.minute:02d}", "s": lambda d: f"{d.second:02d}",
        "a": lambda d: am_pm[d.hour > 11], "A": lambda d: upper[d.hour > 11], "f": _twelve, "P": p,
        "N": lambda d: months_ap[d.month], "F": lambda d: months[d.month], "E": lambda d: months_alt[d.month],
        "b": lambda d: months_3[d.month], "M": lambda d: months_3[d.month].title(),
        "D": lambda d: weekdays_abbr[d.weekday()], "l": lambda d: weekdays[d.weekday()],
    }


_DATETIME_FORMATS: dict[tuple[str | None, str], Callable[[datetime], str]] = {}


def datetime_formatter() -> Callable[[datetime], str]:
    """``localize`` for a local datetime, the active language's DATETIME_FORMAT read once rather than per value.

    ``date_format`` splits the format and translates its words on every call (60–80 µs a value, 50 a page); here the
    format is split once per language and the common characters skip DateFormat; any other falls back to it.
    """
    language, pattern = get_language(), str(get_format("DATETIME_FORMAT"))
    formatter = _DATETIME_FORMATS.get((language, pattern))
    if formatter is None:
        known = _format_characters()
        pieces: list[str | Callable[[datetime], str]] = []
        for i, piece in enumerate(re_formatchars.split(pattern)):
            if i % 2:
                pieces.append(known.get(piece) or (lambda d, c=piece: str(getattr(DateFormat(d), c)())))
            elif piece:
                pieces.append(re_escaped.sub(r"\1", piece))

        def formatter(d: datetime) -> str:
            return "".join([piece if type(piece) is str else piece(d) for piece in pieces])

        _DATETIME_FORMATS[(language, pattern)] = formatter
    return formatter


def amount_formatter() -> Callable[[Decimal], str]:
    """``floatformat(value, "2g")`` with the active locale's separators read once rather than per value.

    An amount of the loan table has two decimals and is positive; that case is formatted here, any other value by
    ``floatformat`` itself.
    """
    language = get_language()
    point, grouping = get_format("DECIMAL_SEPARATOR", language), get_format("NUMBER_GROUPING", language)
    separator = get_format("THOUSAND_SEPARATOR", language)
    if not isinstance(grouping, int):  # a sequence of group sizes (Indian style): leave it to Django
        return lambda value: floatformat(value, "2g")
    size = grouping if separator and grouping > 0 else 0

    def amount(value) -> str:
        if type(value) is not Decimal or value < 0 or value.as_tuple().exponent != -2:
            return floatformat(value, "2g")
        digits = f"{value:f}"
        whole = digits[:-3]
        if size and len(whole) > size:
            head = len(whole) % size or size
            whole = separator.join([whole[:head], *(whole[i:i + size] for i in range(head, len(whole), size))])
        return f"{whole}{point}{digits[-2:]}"

    return amount


@register.simple_tag
def loan_rows(loans) -> str:
    """The rows of ``includes/loan_table.html``, the same markup its loop drew, built in Python.

    ``loans`` are LoanRow values (the work queue) or Loans annotated by ``with_age``. The template loop cost about
    half of the work queue's CPU for a page of 50 loans (bench/load.py): a dozen variable lookups, a localized number,
    a localized date, a URL and a translated string per row. Texts are escaped as the template escaped them; what
    depends only on the language and time zone (separators, the date format, the words in it) is read once per table.
    """
    number = _number_formatter()
    amount = amount_formatter()
    moment = datetime_formatter()
    zone = timezone.get_current_timezone() if settings.USE_TZ else None
    waiting = gettext("%(d)s d %(h)s h")  # one translation per table, not per row
    labels = _status_labels()
    badges: dict[str, str] = {}  # a state's badge, drawn once per table
    detail = reverse("loan-detail", args=[0])[:-2]  # ".../loans/" : every loan's page is that prefix, its id, "/"
    rows = []
    for loan in loans:
        row = loan if type(loan) is LoanRow else LoanRow.of(loan)
        badge = badges.get(row.status)
        if badge is None:
            status = escape(row.status)
            badge = badges[row.status] = (f'<span class="badge badge-{status}" data-status="{status}">'
                                          f"{escape(labels.get(row.status, row.status))}</span>")
        changed = row.status_changed_at
        if type(changed) is datetime and (zone is None or changed.utcoffset() is not None):
            title = escape(moment(changed.astimezone(zone) if zone else changed))
        else:
            title = _text(changed)
        rows.append(
            f'\n      <tr data-loan="{number(row.pk)}">\n'
            f'        <td><a href="{detail}{row.pk}/">{escape(row.label)}</a></td>\n'
            f"        <td>{escape(row.customer)}</td>\n"
            f"        <td>{escape(row.product)}</td>\n"
            f'        <td class="num">{amount(row.amount)}</td>\n'
            f"        <td>{badge}</td>\n"
            f'        <td class="{"age-old" if row.stale else ""}" title="{title}">\n'
            f"          {waiting % {'d': number(row.waited_days), 'h': number(row.waited_hours)}}\n"
            f"        </td>\n"
            f"        <td>{escape(row.officer)}</td>\n"
            f"      </tr>"
        )
    return mark_safe("".join(rows))


_INSTALLMENT_BADGES = {"paid": "badge-ok", "overdue": "badge-missing", "partially_paid": "badge-pending_approval"}


@register.simple_tag
def schedule_rows(installments) -> str:
    """The rows of ``postloan/repayment_schedule.html``, the same markup its loop drew, built in Python.

    An active loan's page spent half its CPU on this loop, seven ``floatformat`` and a date per installment: 107 ms
    for a thirty-year mortgage's 360 rows, 10 ms here. The amounts go through ``amount_formatter`` (separators read
    once per table); anything it does not handle, ``floatformat`` prints as before.
    """
    from postloan.models import Installment

    number = _number_formatter()
    amount = amount_formatter()
    labels = _labels("installment", Installment.STATUSES)
    rows = []
    for i in installments:
        due = i.due_date.isoformat() if type(i.due_date) is date else date_filter(i.due_date, "Y-m-d")
        status = escape(i.status)
        overdue = ' class="overdue"' if i.status == "overdue" else ""
        rows.append(
            f'\n    <tr data-installment="{number(i.number)}"{overdue}>\n'
            f'      <td class="num">{number(i.number)}</td><td>{due}</td>\n'
            f'      <td class="num">{amount(i.principal)}</td><td class="num">{amount(i.interest)}</td>\n'
            f'      <td class="num">{amount(i.scheduled)}</td>\n'
            f'      <td class="num">{amount(i.paid_principal)}</td><td class="num">{amount(i.paid_interest)}</td>\n'
            f'      <td class="num">{amount(i.penalty)}</td><td class="num">{amount(i.paid_penalty)}</td>\n'
            f'      <td><span class="badge {_INSTALLMENT_BADGES.get(i.status, "")}" data-installment-status="{status}">'
            f"{escape(labels.get(i.status, i.status))}</span></td>\n"
            f"    </tr>\n  "
        )
    return mark_safe("".join(rows))
