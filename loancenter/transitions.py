"""The transition registry: for each name of SPEC §2, its input (a DRF serializer) and its service, as the loan's
declarations name them (``custom["input"]``, ``custom["service"]`` on ``applications.models.Loan``).

Both surfaces call :func:`perform`: the API view with ``request.data``, the browser view with
``request.POST``. Input parsing (types, decimals, dates) happens here once; every business rule lives in
the service the entry points to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from applications.catalog import REPRICING_ANNIVERSARY, REPRICING_RULE_LABELS
from applications.models import Loan
from applications.workflow import STEPS, perform_step
from disbursement.forms import RegisterCollateralInput  # noqa: F401  (a transition input, found by name in _registry)
from loancenter.lib.money import REPAYMENT_METHODS
from loancenter.models import User

MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0.01")}
RATE = {"max_digits": 7, "decimal_places": 6, "min_value": Decimal("0")}


class EmptyInput(serializers.Serializer):
    pass


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(label=_("Reason"), max_length=1000, style={"base_template": "textarea.html"})


class CompleteInvestigationInput(serializers.Serializer):
    # Every account: whether a named person may investigate (post, active, not locked out) is the service's rule,
    # which says why and records the refusal.
    investigators = serializers.SlugRelatedField(
        label=_("Investigators"), slug_field="username", many=True, queryset=User.objects.all(),
        help_text=_("Usernames; you must be among them. Products requiring two investigators name a second one, "
                    "who co-signs the report with their own login."),
    )
    field_visit_on = serializers.DateField(label=_("Field visit on"), required=False, allow_null=True)
    identity_verified = serializers.BooleanField(label=_("Identity verified"), default=False)
    income_verified = serializers.BooleanField(label=_("Income verified"), default=False)
    purpose_verified = serializers.BooleanField(label=_("Purpose verified"), default=False)
    guarantors_verified = serializers.BooleanField(label=_("Guarantors verified"), default=False)
    collateral_verified = serializers.BooleanField(label=_("Collateral verified"), default=False)
    opinion = serializers.ChoiceField(label=_("Opinion"), choices=[("recommend", _("Recommend")), ("decline", _("Decline"))])
    recommended_amount = serializers.DecimalField(label=_("Recommended amount"), required=False, allow_null=True, **MONEY)
    recommended_term_months = serializers.IntegerField(label=_("Recommended term (months)"), required=False,
                                                       allow_null=True, min_value=1, max_value=360)
    comment = serializers.CharField(label=_("Comment"), required=False, allow_blank=True, max_length=4000,
                                    style={"base_template": "textarea.html"})
    verified_monthly_income = serializers.DecimalField(
        label=_("Verified monthly income"), required=False, allow_null=True, max_digits=14, decimal_places=2,
        min_value=Decimal("0"), help_text=_("As the investigation verified it; empty: the customer's own figure."),
    )
    verified_monthly_debt = serializers.DecimalField(
        label=_("Verified monthly debt payment"), required=False, allow_null=True, max_digits=14, decimal_places=2,
        min_value=Decimal("0"), help_text=_("As the investigation verified it; empty: the customer's own figure."),
    )
    # The credit-bureau queries the report relied on (SPEC §12): ids of the register's queries on the borrower or a
    # guarantor; whether they are is the service's rule (400 ``credit_query_unknown``).
    credit_queries = serializers.ListField(
        label=_("Credit reports relied on"), child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False, max_length=50,
        help_text=_("The credit-bureau queries on the borrower and the guarantors this report relied on."),
    )


class CosignInvestigationInput(serializers.Serializer):
    # Rendered as a choice (agree / disagree) in the browser: an unticked checkbox must not mean "disagree".
    agree = serializers.BooleanField(label=_("Do you agree with the report?"), style={"base_template": "radio.html"})
    comment = serializers.CharField(label=_("Comment"), required=False, allow_blank=True, max_length=4000,
                                    style={"base_template": "textarea.html"},
                                    help_text=_("Required when you disagree: it goes back to the first investigator."))


class TermsInput(serializers.Serializer):
    amount = serializers.DecimalField(label=_("Amount"), **MONEY)
    term_months = serializers.IntegerField(label=_("Term (months)"), min_value=1, max_value=360)
    # SPEC §16.31: optional for LPR-linked products (the LPR in force plus the spread); the service requires it
    # for fixed-rate ones. The API sends the fraction (0.0435); the browser form shows and takes a percentage (SPEC §16.5).
    annual_rate = serializers.DecimalField(label=_("Annual rate"), **RATE, max_value=Decimal("1"), required=False,
                                           allow_null=True, style={"percent": True})
    repayment_method = serializers.ChoiceField(label=_("Repayment method"), choices=REPAYMENT_METHODS)
    spread_bp = serializers.IntegerField(
        label=_("Spread (basis points)"), required=False, allow_null=True, min_value=-5000, max_value=5000,
        help_text=_("LPR-linked products only: the rate is the LPR in force plus this spread (negative: below it)."))


class PassReviewInput(TermsInput):
    opinion = serializers.CharField(label=_("Review opinion"), max_length=4000, style={"base_template": "textarea.html"})
    override_reason = serializers.CharField(
        label=_("Override reason"), required=False, allow_blank=True, max_length=2000,
        style={"base_template": "textarea.html"},
        help_text=_("Needed only outside the loan's row of the product's rate grid (SPEC §15); recorded as an override."),
    )


class ApproveInput(TermsInput):
    # Required by the service (rule 31: 400 ``reason_required`` on the field), so every surface gets the same refusal.
    reason = serializers.CharField(label=_("Reason"), required=False, allow_blank=True, max_length=1000,
                                   style={"base_template": "textarea.html"})
    guarantee_terms = serializers.CharField(
        label=_("Guarantee terms"), required=False, allow_blank=True, max_length=2000,
        style={"base_template": "textarea.html"},
        help_text=_("Conditions of the guarantee; the reviewed guarantors and collaterals are kept with them."),
    )
    override_reason = serializers.CharField(
        label=_("Override reason"), required=False, allow_blank=True, max_length=2000,
        style={"base_template": "textarea.html"},
        help_text=_("Needed only outside the loan's row of the product's rate grid (SPEC §15); recorded as an override."),
    )


class SignContractInput(serializers.Serializer):
    contract_no = serializers.CharField(label=_("Contract number"), max_length=30)
    signed_on = serializers.DateField(label=_("Signed on"))
    signed_in_person = serializers.BooleanField(label=_("Signed face to face"), default=True)
    repricing = serializers.ChoiceField(label=_("Repricing date (LPR-linked loans)"), default=REPRICING_ANNIVERSARY,
                                        choices=list(REPRICING_RULE_LABELS.items()))


class PrepareReceiptInput(serializers.Serializer):
    value_date = serializers.DateField(label=_("Value date"))
    apply_stamp = serializers.BooleanField(label=_("Apply the disbursement stamp"), default=True)


class DisburseInput(serializers.Serializer):
    disbursed_on = serializers.DateField(label=_("Disbursed on"))
    payee_account = serializers.CharField(label=_("Payee account"), max_length=34)
    payment_mode = serializers.ChoiceField(
        label=_("Payment mode"), default="entrusted",
        choices=[("entrusted", _("Entrusted payment (受托支付)")), ("self", _("Self payment (自主支付)"))],
    )
    # SPEC §16.4: the counterparty of an entrusted payment is optional here; the fund-use check asks for it (§12).
    counterparty_name = serializers.CharField(label=_("Counterparty"), max_length=100, required=False, allow_blank=True)
    counterparty_account = serializers.CharField(label=_("Counterparty account"), max_length=34, required=False,
                                                 allow_blank=True)
    counterparty_bank = serializers.CharField(label=_("Counterparty bank"), max_length=100, required=False,
                                              allow_blank=True)
    pays_for = serializers.CharField(label=_("What the payment pays for (contract or invoice)"), max_length=200,
                                     required=False, allow_blank=True)


@dataclass(frozen=True)
class Entry:
    input: type[serializers.Serializer]
    service: Callable[..., Loan]


def _registry() -> dict[str, Entry]:
    """Each transition the loan declares (applications.models.Loan), with the input and service its ``custom`` names."""
    inputs = globals()
    return {name: Entry(inputs[step.custom["input"]], import_string(step.custom["service"]))
            for name, step in STEPS.items()}


REGISTRY: dict[str, Entry] = _registry()


def input_for(name: str, data=None, *, initial=None) -> serializers.Serializer:
    entry = REGISTRY[name]
    if data is None:
        return entry.input(initial=initial) if initial is not None else entry.input()
    return entry.input(data=data)


def perform(name: str, *, loan_id: int, actor, data) -> Loan:
    """The caller's post first (403 whatever ``data`` holds, SPEC §16.2), then ``data`` (``serializers.
    ValidationError`` → 400 / form errors), then the service; a refusal is recorded with the loan."""
    entry = REGISTRY[name]
    return perform_step(name, entry.input, entry.service, loan_id=loan_id, actor=actor, data=data)
