"""China resident identity number (GB 11643-1999): 18 characters, the last a check character."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# ASCII only: ``\d`` would also match full-width and Arabic-Indic digits, which are other strings (rule 25).
# Values reach these validators normalised (``loancenter.lib.identifiers``); anything else is refused.
_PATTERN = re.compile(r"^[0-9]{17}[0-9X]$")
_PHONE = re.compile(r"^1[3-9][0-9]{9}$")


def check_character(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=False))
    return _CHECK[total % 11]


@dataclass(frozen=True)
class IdInfo:
    birth_date: date
    gender: str  # "M" / "F"


def parse_id_number(value: str) -> IdInfo:
    """Birth date and gender of a normalised ID number (``normalise_id_number``); ValidationError otherwise."""
    value = value or ""
    if not _PATTERN.fullmatch(value):
        raise ValidationError(_("ID number must be 18 characters: 17 digits and a check digit or X."), code="id_format")
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise ValidationError(_("ID number contains an impossible birth date."), code="id_birth") from exc
    if birth.year < 1900 or birth > date.today():
        raise ValidationError(_("ID number contains an impossible birth date."), code="id_birth")
    if check_character(value[:17]) != value[17]:
        raise ValidationError(_("ID number check character is wrong (GB 11643)."), code="id_check")
    return IdInfo(birth_date=birth, gender="M" if int(value[16]) % 2 else "F")


def validate_id_number(value: str) -> None:
    parse_id_number(value)


def validate_phone(value: str) -> None:
    if not _PHONE.fullmatch(value or ""):
        raise ValidationError(_("Phone must be an 11-digit mainland mobile number."), code="phone")


def mask_id_number(value: str) -> str:
    return value[:3] + "*" * 11 + value[-4:] if value and len(value) == 18 else "*" * len(value or "")


def mask_phone(value: str) -> str:
    return value[:3] + "****" + value[-4:] if value and len(value) == 11 else "*" * len(value or "")


def make_id_number(region: str, birth: date, sequence: int) -> str:
    """Build a valid ID number (demo data and tests). ``sequence`` 0–999; its parity sets the gender."""
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)
