"""Identifiers people type: ID numbers, phones, contract and certificate numbers (SPEC §10 rule 25).

One normaliser, applied at the edge before anything checks or stores such a number, so that the same number typed
with full-width digits (``１１０１０５…``), Arabic-Indic digits (``١١٠…``), a lower-case ``x``, spaces or a
full-width bracket is the same number, and uniqueness holds on what is stored.

The steps, in order (docs/decisions.md, "Identifiers are normalised in one place"):

1. Unicode NFKC: full-width letters, digits and punctuation become their ASCII forms, ``㈠``-style compatibility
   characters are decomposed.
2. Every Unicode decimal digit (category Nd: Arabic-Indic, Devanagari, …, which NFKC leaves alone) becomes its
   ASCII digit.
3. Whitespace (inner too), control and format characters (zero-width space, BOM) are removed.
4. ASCII letters are upper-cased (the check character ``x`` → ``X``); other scripts are left as they are.
5. By kind: contract and certificate numbers turn every dash into ``-``; certificate numbers also turn every
   bracket (``〔〕【】［］``…) into ``(``/``)``; phones drop the separators ``-().`` and a ``+86``/``0086``
   country prefix in front of an 11-digit mobile number.

Surfaces get it without calling it: :class:`IdentifierField` (the model field) normalises in ``to_python`` (so
``full_clean``, ``ModelForm`` and lookups such as ``filter(id_number=…)`` see the normal form) and in ``pre_save``
(so whatever is stored is normal); its form field and :class:`IdentifierSerializerField` normalise the typed
value before their validators run. Validators (``loancenter.lib.idcard``) accept ASCII only.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.db import models
from rest_framework import serializers

ID_NUMBER = "id_number"
PHONE = "phone"
CONTRACT_NO = "contract_no"
CERTIFICATE_NO = "certificate_no"

_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_OPENING = "([{〔【〖〘〚⦅｟"
_CLOSING = ")]}〕】〗〙〛⦆｠"
_BRACKETS = str.maketrans(_OPENING + _CLOSING, "(" * len(_OPENING) + ")" * len(_CLOSING))
_PHONE_SEPARATORS = str.maketrans("", "", "-().")
_COUNTRY_PREFIX = re.compile(r"^(?:\+|00)?86(?=1[0-9]{10}$)")


def _base(value: str) -> str:
    value = unicodedata.normalize("NFKC", value)
    kept = []
    for ch in value:
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf"):
            continue
        digit = unicodedata.decimal(ch, None)
        kept.append(str(digit) if digit is not None else ch)
    return "".join(kept).translate(_UPPER)


def _dashes(value: str) -> str:
    return "".join("-" if unicodedata.category(ch) == "Pd" or ch == "\u2212" else ch for ch in value)


def normalise_id_number(value: str | None) -> str:
    """``"１１０１０５ １９４９１２３１ ００２ｘ"`` → ``"11010519491231002X"``."""
    return _base(value or "")


def normalise_phone(value: str | None) -> str:
    """``"+86 138-0013-8000"``, ``"１３８００１３８０００"`` → ``"13800138000"``."""
    value = _dashes(_base(value or "")).translate(_PHONE_SEPARATORS)
    return _COUNTRY_PREFIX.sub("", value)


def normalise_contract_no(value: str | None) -> str:
    """``" ｈｔ－２０２６－０００１ "`` → ``"HT-2026-0001"``."""
    return _dashes(_base(value or ""))


def normalise_certificate_no(value: str | None) -> str:
    """``"京（２０２５）东城区 不动产权第０００１号"``, ``"京〔2025〕东城区不动产权第0001号"`` → ``"京(2025)东城区不动产权第0001号"``."""
    return _dashes(_base(value or "")).translate(_BRACKETS)


NORMALISERS: dict[str, Callable[[str | None], str]] = {
    ID_NUMBER: normalise_id_number,
    PHONE: normalise_phone,
    CONTRACT_NO: normalise_contract_no,
    CERTIFICATE_NO: normalise_certificate_no,
}


def normalise(value: str | None, kind: str) -> str | None:
    """The normal form of ``value`` as a ``kind`` identifier; ``None`` stays ``None`` (a nullable column)."""
    return None if value is None else NORMALISERS[kind](str(value))


def duplicates(rows: Iterable[tuple[Any, str | None]], kind: str) -> dict[str, list[tuple[Any, str | None]]]:
    """``(key, value)`` rows grouped by the value's normal form, for the forms that two or more rows share."""
    groups: dict[str, list[tuple[Any, str | None]]] = defaultdict(list)
    for key, value in rows:
        if value:
            groups[normalise(value, kind)].append((key, value))
    return {number: group for number, group in groups.items() if len(group) > 1}


def rewrite_normalised(model, fields: Iterable[tuple[str, str]], *, batch: int = 2000) -> int:
    """Data migrations: store ``(field, kind)`` columns of ``model`` in their normal form; returns the rows changed.

    Reads ``batch`` rows at a time and writes only the rows whose values change.
    """
    fields = list(fields)
    names = [name for name, _kind in fields]
    changed: list = []
    count = 0
    for row in model._base_manager.only("pk", *names).order_by("pk").iterator(chunk_size=batch):
        dirty = False
        for name, kind in fields:
            value = getattr(row, name)
            normal = normalise(value, kind)
            if normal != value:
                setattr(row, name, normal)
                dirty = True
        if dirty:
            changed.append(row)
        if len(changed) >= batch:
            model._base_manager.bulk_update(changed, names)
            count, changed = count + len(changed), []
    if changed:
        model._base_manager.bulk_update(changed, names)
        count += len(changed)
    return count


# ---------------------------------------------------------------------------------------------------------------
# The model field, and the form and serializer fields it hands out


class IdentifierFormField(forms.CharField):
    """A text input whose value is normalised before the field's validators run."""

    def __init__(self, *, kind: str, **kwargs):
        self.kind = kind
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return value if value in self.empty_values else normalise(value, self.kind)

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        # People may type spaces or separators that the normaliser removes: the length is checked after it.
        attrs.pop("maxlength", None)
        return attrs


class IdentifierField(models.CharField):
    """A ``CharField`` that holds an identifier in its normal form (see the module docstring)."""

    def __init__(self, *args, kind: str = ID_NUMBER, **kwargs):
        if kind not in NORMALISERS:
            raise ValueError(f"unknown identifier kind {kind!r}")
        self.kind = kind
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["kind"] = self.kind
        return name, path, args, kwargs

    def to_python(self, value):
        # CharField.get_prep_value calls to_python too, so lookups (``filter(id_number=…)``) are normalised.
        return normalise(super().to_python(value), self.kind)

    def pre_save(self, model_instance, add):
        value = normalise(getattr(model_instance, self.attname), self.kind)
        setattr(model_instance, self.attname, value)
        return value

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": IdentifierFormField, "kind": self.kind, **kwargs})


class IdentifierSerializerField(serializers.CharField):
    """API input: normalised before the field's validators (length, format, uniqueness) run."""

    def __init__(self, *, kind: str, **kwargs):
        self.kind = kind
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        return normalise(value, self.kind) if value else value


class IdentifierSerializerMixin:
    """For a ``ModelSerializer``: every :class:`IdentifierField` becomes an :class:`IdentifierSerializerField`
    that keeps the model field's validators (uniqueness included)."""

    def build_standard_field(self, field_name, model_field):
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        if isinstance(model_field, IdentifierField):
            field_class = IdentifierSerializerField
            field_kwargs["kind"] = model_field.kind
        return field_class, field_kwargs
