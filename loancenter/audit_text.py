"""The audit trail in words (issue 15 part 4): what happened, and which fields changed, old → new, with the fields'
labels and the choices' labels in the reader's language — "还款方式: 等额本息 → 等额本金", never
``repayment_method=equal_installment``. The audit rows keep their codes (the API's ``/audit/`` answers them).

Wiring: it reads the labels of every app (the loan's fields, the transitions' input forms, the grades of post-loan).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from applications.catalog import PURPOSES, RELATIONSHIPS, REPAYMENT_METHOD_LABELS, document_label
from applications.models import Collateral, Guarantor, Loan, Status
from applications.workflow import STEPS
from loancenter.lib.money import fmt_rate
from loancenter.templatetags.money import money
from postloan.models import GRADE_LABELS, TIER_CHOICES

# What an audit row that is not a transition records, as the timeline names it. A transition is named by its step.
ACTIONS = {
    "create": gettext_lazy("Application created"),
    "update": gettext_lazy("Application edited"),
    "documents": gettext_lazy("Documents received"),
    "customer_notified": gettext_lazy("Customer notified of the decision"),
    "register_collateral": gettext_lazy("Collateral registration recorded"),
    "registration_apply": gettext_lazy("Collateral registration applied for"),
    "certificate_hand_over": gettext_lazy("Certificate handed over"),
    "receipt_stamp": gettext_lazy("Receipt stamped"),
    "repayment": gettext_lazy("Repayment posted"),
    "servicing_file": gettext_lazy("Servicing request filed"),
    "servicing_approve": gettext_lazy("Servicing request approved"),
    "servicing_reject": gettext_lazy("Servicing request rejected"),
    "servicing_execute": gettext_lazy("Servicing request carried out"),
    "write_off_propose": gettext_lazy("Write-off proposed"),
    "write_off_review": gettext_lazy("Write-off reviewed"),
    "write_off_approve": gettext_lazy("Write-off approved"),
    "write_off_reject": gettext_lazy("Write-off rejected"),
    "write_off_recovery": gettext_lazy("Recovery after write-off recorded"),
    "grade_downgrade": gettext_lazy("Grade lowered"),
    "grade_upgrade_propose": gettext_lazy("Better grade proposed"),
    "grade_upgrade_approve": gettext_lazy("Better grade approved"),
    "grade_upgrade_reject": gettext_lazy("Better grade rejected"),
    "check_plan_set": gettext_lazy("Post-loan check plan set"),
    "check_complete": gettext_lazy("Post-loan check completed"),
    "check_sign_off": gettext_lazy("Post-loan check signed off"),
    "signal_raise": gettext_lazy("Warning signal raised"),
    "signal_close": gettext_lazy("Warning signal closed"),
    "collection_action": gettext_lazy("Collection contact logged"),
    "credit_query": gettext_lazy("Credit report queried"),
    "escalation_task_done": gettext_lazy("Escalation task done"),
    "fund_use_proof_add": gettext_lazy("Proof of fund use added"),
    "document_upload": gettext_lazy("Document uploaded"),
    "document_preview": gettext_lazy("Document viewed"),
    "document_void_request": gettext_lazy("Voiding of a document requested"),
    "document_void_decide": gettext_lazy("Voiding of a document decided"),
    "document_void_approve": gettext_lazy("Voiding of a document approved"),
    "handover": gettext_lazy("Handed over to another officer"),
    "handover_file": gettext_lazy("Hand-over filed"),
    "handover_approve": gettext_lazy("Hand-over approved"),
    "handover_reject": gettext_lazy("Hand-over rejected"),
    "archive_folder_open": gettext_lazy("Archive folder opened"),
    "archive_item_receive": gettext_lazy("Archive item received"),
    "archive_item_unreceive": gettext_lazy("Archive item receipt undone"),
    "archive_checklist_sync": gettext_lazy("Archive checklist updated"),
    "archive_file_complete": gettext_lazy("Archive file completed"),
    "archive_vault_move": gettext_lazy("Archive file moved in the vault"),
    "archive_retention_set": gettext_lazy("Retention period set"),
    "archive_lending_request": gettext_lazy("Archive file requested"),
    "archive_lending_approve": gettext_lazy("Archive lending approved"),
    "archive_lending_refuse": gettext_lazy("Archive lending refused"),
    "archive_lending_out": gettext_lazy("Archive file lent out"),
    "archive_lending_return": gettext_lazy("Archive file returned"),
    "archive_inspection": gettext_lazy("Archive inspected"),
    "archive_handover": gettext_lazy("Archive file transferred"),
    "archive_handover_confirm": gettext_lazy("Archive transfer confirmed"),
    "archive_destruction_propose": gettext_lazy("Destruction proposed"),
    "archive_destruction_approve": gettext_lazy("Destruction approved"),
    "archive_destruction_refuse": gettext_lazy("Destruction refused"),
    "customer_create": gettext_lazy("Customer registered"),
    "customer_update": gettext_lazy("Customer edited"),
    "customer_warning_list": gettext_lazy("Credit warning list changed"),
    "customer_merge": gettext_lazy("Customers merged"),
    "product_update": gettext_lazy("Product edited"),
}

# Payload keys that are no model field of the row they describe, with their label.
KEYS = {
    "opinion": gettext_lazy("Opinion"),
    "reason": gettext_lazy("Reason"),
    "comment": gettext_lazy("Comment"),
    "customer": gettext_lazy("Borrower"),
    "product": gettext_lazy("Product"),
    "documents": gettext_lazy("Documents"),
    "guarantors": gettext_lazy("Guarantors"),
    "collaterals": gettext_lazy("Collaterals"),
    "investigators": gettext_lazy("Investigators"),
    "reference": gettext_lazy("Reference"),
    "note": gettext_lazy("Note"),
    "from_grade": gettext_lazy("From grade"),
    "to_grade": gettext_lazy("To grade"),
    "grade": gettext_lazy("Grade"),
    "tier": gettext_lazy("Collection tier"),
}
HIDDEN = frozenset({"version", "reason", "id"})  # the version is bookkeeping; the reason has its own line
METHOD_KEYS = frozenset({"repayment_method", "method", "proposed_method", "approved_method"})
GRADE_KEYS = frozenset({"grade", "from_grade", "to_grade", "manual_grade", "proposed_grade"})
RATE_SUFFIXES = ("_rate", "_markup", "_ltv", "_dti", "spread", "ratio")
MONEY_WORDS = ("amount", "income", "debt", "value", "principal", "interest", "penalty", "balance", "exposure",
               "payment", "recovered", "provision")


@dataclass
class Change:
    label: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"{self.label}: {self.old} → {self.new}"


@dataclass
class Event:
    label: str
    changes: list[Change] = field(default_factory=list)  # an edit: each field, old → new
    lines: list[str] = field(default_factory=list)  # every line the timeline shows under the event

    @property
    def summary(self) -> str:
        return "; ".join(self.lines)


def _model_field(model, name: str):
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


class _Labels:
    """Field labels and value texts for one audit row: the transition's input form first, then the row's model."""

    def __init__(self, action: str, model):
        self.model = model
        self.inputs = {}
        if action in STEPS:
            from loancenter import transitions

            try:
                self.inputs = dict(transitions.input_for(action).fields)
            except KeyError:
                self.inputs = {}

    def label(self, key: str) -> str:
        found = self.inputs.get(key)
        if found is not None and found.label:
            return str(found.label)
        model_field = _model_field(self.model, key) if self.model else None
        if model_field is not None and getattr(model_field, "verbose_name", None):
            return str(capfirst(model_field.verbose_name))
        if key in KEYS:
            return str(KEYS[key])
        loan_field = _model_field(Loan, key)
        if loan_field is not None and getattr(loan_field, "verbose_name", None):
            return str(capfirst(loan_field.verbose_name))
        return key.replace("_", " ")

    def choices(self, key: str) -> dict:
        found = self.inputs.get(key)
        if isinstance(found, serializers.ChoiceField):
            return {str(k): v for k, v in found.choices.items()}
        for model in (self.model, Loan):
            model_field = _model_field(model, key) if model else None
            if model_field is not None and getattr(model_field, "choices", None):
                return {str(k): v for k, v in model_field.flatchoices}
        return {}

    def value(self, key: str, value) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return str(_("Yes") if value else _("No"))
        if isinstance(value, list | tuple):
            return "、".join(self.value(key, v) for v in value) or "—"
        if isinstance(value, dict):
            return row_text(value)
        text = str(value)
        if key in METHOD_KEYS:
            return str(REPAYMENT_METHOD_LABELS.get(text, text))
        if key == "purpose":
            return str(PURPOSES.get(text, text))
        if key == "relationship":
            return str(RELATIONSHIPS.get(text, text))
        if key == "documents":
            return document_label(text)
        if key in GRADE_KEYS:
            return str(GRADE_LABELS.get(text, text))
        if key in ("tier", "collection_tier"):
            return str(dict(TIER_CHOICES).get(text, text))
        if key in ("status", "from_status", "to_status"):
            return str(dict(Status.choices).get(text, text))
        choices = self.choices(key)
        if text in choices:
            return str(choices[text])
        number = _decimal(value)
        if number is not None:
            if key.endswith(RATE_SUFFIXES) or key == "threshold":
                return fmt_rate(number)
            if any(word in key for word in MONEY_WORDS) and not isinstance(value, int):
                return money(number)
        if isinstance(value, str) and "T" in value and (moment := parse_datetime(value)) is not None:
            return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(moment) else text
        if isinstance(value, datetime):
            return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
        if isinstance(value, date):
            return value.isoformat()
        return text if len(text) <= 200 else text[:200] + "…"


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def row_text(row: dict) -> str:
    """A guarantor, collateral or document row named as a person knows it."""
    name = row.get("name") or row.get("description") or row.get("owner_name")
    if row.get("relationship"):
        return f"{name or ''}（{RELATIONSHIPS.get(row['relationship'], row['relationship'])}）"
    if row.get("kind") and name:
        kinds = dict(Collateral._meta.get_field("kind").flatchoices)
        return f"{kinds.get(row['kind'], row['kind'])} {name}"
    return str(name or (f"#{row['id']}" if row.get("id") else ""))


_ROWS = {"guarantors": Guarantor, "collaterals": Collateral, "documents": None}


def _edit(labels: _Labels, payload: dict) -> tuple[list[Change], list[str]]:
    changes = [Change(labels.label(key), labels.value(key, payload["old"].get(key)), labels.value(key, new))
               for key, new in payload["new"].items()]
    lines = [str(c) for c in changes]
    for kind, model in _ROWS.items():
        rows = payload.get(kind) or {}
        title = str(KEYS[kind])
        for row in rows.get("added", []):
            text = document_label(row) if kind == "documents" else row_text(row)
            lines.append(_("%(rows)s added: %(row)s") % {"rows": title, "row": text})
        for row in rows.get("removed", []):
            text = document_label(row) if kind == "documents" else row_text(row)
            lines.append(_("%(rows)s removed: %(row)s") % {"rows": title, "row": text})
        row_labels = _Labels("", model)
        for row in rows.get("changed", []):
            for key, new in row["new"].items():
                change = Change(f"{title} #{row['id']} {row_labels.label(key)}",
                                row_labels.value(key, row["old"].get(key)), row_labels.value(key, new))
                changes.append(change)
                lines.append(str(change))
    return changes, lines


def _model_of(entry):
    if entry.object_type:
        try:
            return apps.get_model(entry.object_type)
        except (LookupError, ValueError):
            return None
    return Loan if entry.loan_id else None


def describe(entry) -> Event:
    """The audit row ``entry`` as the timeline shows it."""
    label = STEPS[entry.action].label if entry.action in STEPS else ACTIONS.get(entry.action)
    event = Event(label=str(label) if label else entry.action.replace("_", " "))
    payload = entry.payload
    if not isinstance(payload, dict) or not payload:
        return event
    labels = _Labels(entry.action, _model_of(entry))
    if isinstance(payload.get("old"), dict) and isinstance(payload.get("new"), dict):
        event.changes, event.lines = _edit(labels, payload)
        return event
    for key, value in payload.items():
        if key in HIDDEN or value in ("", None, [], {}):
            continue
        event.lines.append(f"{labels.label(key)}: {labels.value(key, value)}")
    return event

