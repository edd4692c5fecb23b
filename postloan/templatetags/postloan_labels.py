"""``{{ loan.grade|grade_label }}``, ``{{ loan.collection_tier|tier_label }}``: the five-level grade and the collection
tier in the reader's language (``special_mention`` → 关注), where the loan keeps the code (issue 15 part 4).
The loan's fields carry no choices (the grades belong to post-loan, above the loan's app), hence these filters."""

from __future__ import annotations

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy

from postloan.models import GRADE_LABELS, TIER_CHOICES

register = template.Library()
TIER_LABELS = dict(TIER_CHOICES)


@register.filter
def grade_label(code) -> str:
    return str(GRADE_LABELS.get(code, code or ""))


@register.filter
def tier_label(code) -> str:
    return str(TIER_LABELS.get(code or "", code))


# Keys of a servicing request's outcome (``ServicingRequest.result``), as a person reads them.
RESULT_KEYS = {
    "old_maturity": gettext_lazy("Maturity before"),
    "new_maturity": gettext_lazy("Maturity after"),
    "months": gettext_lazy("Months"),
    "observation_until": gettext_lazy("Observation until"),
    "amount": gettext_lazy("Amount"),
    "to_due_items": gettext_lazy("Applied to amounts due"),
    "to_principal": gettext_lazy("Applied to principal"),
    "accrued_interest_added": gettext_lazy("Accrued interest added"),
    "installments_recomputed": gettext_lazy("Installments recomputed"),
    "repayment": gettext_lazy("Repayment"),
    "due": gettext_lazy("Amounts due"),
    "principal": gettext_lazy("Principal"),
    "accrued_interest": gettext_lazy("Accrued interest"),
    "total": gettext_lazy("Total"),
}
AMOUNT_KEYS = frozenset({"amount", "to_due_items", "to_principal", "accrued_interest_added", "due", "principal",
                         "accrued_interest", "total", "monthly_income", "monthly_debt_payment"})


def _label(key: str) -> str:
    from applications.models import Customer
    from postloan.models import RepaymentAccount

    for model in (RepaymentAccount, Customer):
        try:
            return str(capfirst(model._meta.get_field(key).verbose_name))
        except FieldDoesNotExist:
            continue
    return str(RESULT_KEYS.get(key, key.replace("_", " ")))


@register.filter
def labelled_items(values) -> list[tuple[str, str]]:
    """A servicing request's old values, new values or outcome as (label, text) pairs: field labels, not field
    names; amounts with separators (issue 15 parts 4 and 5)."""
    from loancenter.templatetags.money import money

    if not isinstance(values, dict):
        return []
    out = []
    for key, value in values.items():
        if key == "repayment":
            continue  # the repayment's id: the repayment itself is listed on the loan
        text = "—" if value in (None, "") else (money(value) if key in AMOUNT_KEYS else str(value))
        out.append((_label(key), text))
    return out
