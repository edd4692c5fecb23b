"""CSV and Excel exports: one helper for every export in the app (SPEC §10, §16.6).

- Text cells that start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are neutralised: a leading
  apostrophe makes them plain text in Excel, LibreOffice and anything that reads the CSV into a spreadsheet, so a
  customer named ``=HYPERLINK(…)`` stays a name (OWASP, "CSV Injection"). In .xlsx every text cell is also written
  as a string, never a formula.
- Numbers stay numbers (a negative amount or spread is a number, not text): ``int``, ``float`` and ``Decimal`` are
  written as numbers in Excel and as plain numerals in CSV. Dates are dates, date-times local ones. In Excel an amount
  (a Decimal of two places) shows its thousands separators (``#,##0.00``) and a ``Percent`` shows as a percentage;
  the cell stays a number (issue 15 part 5).
- Headers and values are whatever the caller gives: labels in the reader's language, already translated (the caller
  turns codes into labels; see ``labels``).

CSV carries a BOM (Excel opens UTF-8 Chinese only with it) and is streamed; Excel is written in openpyxl's
write-only mode, capped at the sheet's row limit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone


class Percent:
    """A rate or ratio (a fraction) in an export: Excel keeps the number and shows it as a percentage ("0.00%"), CSV
    writes the pages' text ("4.35%"): one rule for pages, PDFs and exports (issue 15 part 5)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


MONEY_FORMAT = "#,##0.00"  # amounts in Excel: separators shown, the cell stays a number
PERCENT_FORMAT = "0.00%"

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_576  # an Excel sheet's rows, the header included
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(text: str) -> str:
    """The text as a spreadsheet shows it literally: an apostrophe before a leading ``= + - @``, tab or CR."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def labels(choices: Iterable[tuple[str, object]]) -> dict[str, str]:
    """Code → label in the active language, translated once (rows are written after the view has returned)."""
    return {code: str(label) for code, label in choices}


def _is_number(value) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "✓" if value else ""
    if isinstance(value, datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return local.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_cell(value) -> str:
    if isinstance(value, Percent):
        from loancenter.lib.money import fmt_rate

        return fmt_rate(value.value)
    if _is_number(value):
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    if isinstance(value, date | bool) or value is None:
        return _text(value)
    return neutralise(_text(value))


def xlsx_cell(sheet, value):
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, Percent):
        if value.value is None:
            return None
        cell = WriteOnlyCell(sheet, value=value.value)
        cell.number_format = PERCENT_FORMAT
        return cell
    if isinstance(value, Decimal) and value.as_tuple().exponent == -2:  # money: two places (SPEC §5)
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = MONEY_FORMAT
        return cell
    if _is_number(value):
        return value
    if isinstance(value, datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        cell = WriteOnlyCell(sheet, value=local.replace(tzinfo=None))
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    if value is None:
        return None
    cell = WriteOnlyCell(sheet, value=neutralise(_text(value)))
    cell.data_type = "s"  # a string, whatever it starts with: openpyxl would store "=…" as a formula
    return cell


def _attachment(response, filename: str):
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class _Echo:
    def write(self, value):
        return value


def csv_response(filename: str, rows: Iterable[Sequence]) -> HttpResponse | StreamingHttpResponse:
    """``rows`` (the header first, then the data; rows may differ in length) as a CSV download: streamed when ``rows``
    is an iterator (a long list read from the database as it is sent), in one piece when it is a list."""
    out = csv.writer(_Echo())

    def lines():
        yield "\ufeff"
        for row in rows:
            yield out.writerow([csv_cell(value) for value in row])

    content_type = "text/csv; charset=utf-8"
    if isinstance(rows, list | tuple):
        return _attachment(HttpResponse("".join(lines()), content_type=content_type), filename)
    return _attachment(StreamingHttpResponse(lines(), content_type=content_type), filename)


def xlsx_response(filename: str, sheet_name: str, rows: Iterable[Sequence]) -> HttpResponse:
    """``rows`` (the header first) as one .xlsx sheet, cut at Excel's row limit."""
    return _attachment(HttpResponse(xlsx_bytes(sheet_name, rows), content_type=XLSX_CONTENT_TYPE), filename)


def xlsx_bytes(sheet_name: str, rows: Iterable[Sequence]) -> bytes:
    """The .xlsx file of ``xlsx_response``, for a file that is stored rather than sent."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_name[:31])
    for n, row in enumerate(rows):
        if n >= XLSX_MAX_ROWS:
            break
        sheet.append([xlsx_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


