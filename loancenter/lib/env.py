"""Typed readers for environment variables that fail loudly on bad values."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [part.strip() for part in raw.split(",") if part.strip()]


_RATE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"20/10m"`` → (20, 600): a count per a number of seconds, minutes, hours or days (``"5/h"`` = 5 an hour).

    DRF's own rate strings take only the unit (``"20/m"``); this also takes a multiple of it.
    """
    count, _, period = rate.strip().partition("/")
    number, unit = period[:-1], period[-1:]
    if not count.isdigit() or int(count) < 1 or unit not in _RATE_UNITS or not (number == "" or number.isdigit()) \
            or number == "0":
        raise ValueError(f"{rate!r} is not a rate like 20/10m (a count per a number of s, m, h or d)")
    return int(count), int(number or 1) * _RATE_UNITS[unit]


def env_rate(name: str, default: str) -> str:
    """A rate string (``parse_rate``), checked when the settings load."""
    raw = os.environ.get(name)
    value = default if raw is None or raw.strip() == "" else raw.strip()
    try:
        parse_rate(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None
    return value
