"""HTML forms drawn from the DRF input serializers, so that a browser page and the API read the same input.

``describe`` turns a serializer's fields into the rows ``templates/includes/serializer_form.html`` draws;
``post_data`` reads the posted form back into the plain dict the serializer validates. Used by the transition page
and the post-loan pages.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _
from rest_framework import serializers

from applications.catalog import REPAYMENT_METHOD_LABELS
from loancenter import posts as P
from loancenter.lib.percent import percent_post, percent_value
from loancenter.models import User


def investigators():
    return User.objects.filter(is_active=True, groups__name=P.INVESTIGATOR).order_by("username").distinct()


def _is_choice_bool(field) -> bool:
    return isinstance(field, serializers.BooleanField) and field.style.get("base_template") == "radio.html"


def is_percent(field) -> bool:
    """A rate the API takes as a fraction and a page as a percentage (``style={"percent": True}``; SPEC §16.5)."""
    return isinstance(field, serializers.DecimalField) and bool(field.style.get("percent"))


def _within(field, value) -> bool:
    """Whether ``value`` is a number inside the field's limits (then its errors are the rules', kept as they are)."""
    try:
        number = Decimal(str(value))
    except Exception:  # noqa: BLE001 - anything that is not a number is outside
        return False
    return number.is_finite() and (field.min_value is None or number >= field.min_value) and (
        field.max_value is None or number <= field.max_value)


def _is_many(field) -> bool:
    return isinstance(field, serializers.ManyRelatedField | serializers.ListField | serializers.MultipleChoiceField)


def _value_text(value) -> str:
    if value is None or value is serializers.empty:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def describe(serializer, values: dict, errors: dict) -> list[dict]:
    """Turn a DRF serializer's fields into what the template needs to render an HTML control for each."""
    rows = []
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        row = {"name": name, "label": field.label or name, "help": field.help_text or "", "required": field.required,
               "errors": [str(e) for e in errors.get(name, [])], "attrs": {}}
        value = values.get(name, serializers.empty)
        if value is serializers.empty and field.default is not serializers.empty and not callable(field.default):
            value = field.default
        if _is_choice_bool(field):  # a yes/no the person must answer (an unticked box would be an answer)
            current = "" if value is serializers.empty or value is None else str(value).lower()
            row.update(kind="select", options=[("true", _("Yes"), current == "true"),
                                               ("false", _("No"), current == "false")])
        elif isinstance(field, serializers.BooleanField):
            row.update(kind="checkbox", checked=bool(value) and value is not serializers.empty and value not in ("false", "0"))
        elif isinstance(field, serializers.ManyRelatedField):
            child = field.child_relation
            options = investigators() if name == "investigators" else child.get_queryset()
            chosen = {str(v) for v in (value if isinstance(value, list | tuple) else [])}
            slug = getattr(child, "slug_field", "pk")
            row.update(kind="multiselect", options=[
                (str(getattr(o, slug)), getattr(o, "display", str(o)), str(getattr(o, slug)) in chosen) for o in options
            ])
        elif isinstance(field, serializers.MultipleChoiceField):
            chosen = {str(v) for v in (value if isinstance(value, list | tuple | set) else [])}
            row.update(kind="multiselect", options=[(str(k), label, str(k) in chosen) for k, label in field.choices.items()])
        elif isinstance(field, serializers.ChoiceField):
            labels = REPAYMENT_METHOD_LABELS if name.endswith("repayment_method") or name == "method" else {}
            current = _value_text(value)
            row.update(kind="select", options=[
                (str(k), labels.get(k, label), str(k) == current) for k, label in field.choices.items()
            ])
        elif isinstance(field, serializers.DateField):
            row.update(kind="date", value=_value_text(value))
        elif is_percent(field):  # typed and shown as a percentage: 4.35 for 0.0435 (issue 15 part 5)
            row.update(kind="number", label=f"{row['label']} (%)", value=percent_value(_value_text(value)),
                       attrs={"step": "any", "inputmode": "decimal", "data-percent": "true"},
                       help=row["help"] or _("In percent: type 4.35 for 4.35%."))
            if row["errors"] and not _within(field, value):  # the serializer's limits speak of fractions ("≤ 1")
                row["errors"] = [_("Enter a percentage between %(low)s%% and %(high)s%%, e.g. 4.35.") % {
                    "low": percent_value(field.min_value or 0), "high": percent_value(field.max_value or 1)}]
        elif isinstance(field, serializers.DecimalField):
            step = "1" if not field.decimal_places else "0." + "0" * (field.decimal_places - 1) + "1"
            row.update(kind="number", value=_value_text(value), attrs={"step": step})
        elif isinstance(field, serializers.IntegerField):
            row.update(kind="number", value=_value_text(value), attrs={"step": "1", "min": field.min_value,
                                                                          "max": field.max_value})
        elif isinstance(field, serializers.CharField) and field.style.get("base_template") == "textarea.html":
            row.update(kind="textarea", value=_value_text(value))
        else:
            row.update(kind="text", value=_value_text(value), attrs={"maxlength": getattr(field, "max_length", None)})
        rows.append(row)
    return rows


def post_data(serializer, post) -> dict:
    """A plain dict from the HTML form: lists via getlist, unchecked checkboxes False, blank optionals left out."""
    data: dict = {}
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        if _is_choice_bool(field):
            if post.get(name, "").strip():
                data[name] = post[name]  # left out when not chosen: "This field is required."
        elif isinstance(field, serializers.BooleanField):
            data[name] = name in post
        elif _is_many(field):
            data[name] = post.getlist(name)
        else:
            value = post.get(name, "")
            if value.strip() == "" and not field.required:
                if field.allow_null:
                    data[name] = None
                elif getattr(field, "allow_blank", False):
                    data[name] = ""
                continue
            data[name] = percent_post(value) if is_percent(field) else value
    return data
