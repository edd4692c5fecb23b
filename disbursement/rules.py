"""Guards for contract, collateral registration, receipt and disbursement (SPEC §3 rules 12a, 13–17)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from applications.catalog import CATEGORY_BUSINESS, CATEGORY_CONSUMER
from loancenter.lib.errors import RuleViolation

# Rule 17: self payment (自主支付) only up to these amounts; everything else is entrusted (受托支付).
SELF_PAYMENT_LIMITS = {CATEGORY_CONSUMER: Decimal("300000.00"), CATEGORY_BUSINESS: Decimal("500000.00")}
_ACCOUNT = re.compile(r"^[0-9][0-9 -]{6,32}[0-9]$")


def check_contracts_effective(loan, *, on: date) -> None:
    """Rule 13: the loan contract and every guarantee and mortgage contract are signed and effective."""
    contracts = list(loan.contracts.all())
    missing = []
    if not any(c.kind == "loan" for c in contracts):
        missing.append(_("loan contract"))
    signed_guarantors = {c.guarantor_id for c in contracts if c.kind == "guarantee"}
    for guarantor in loan.guarantors.select_related("customer"):
        if guarantor.pk not in signed_guarantors:
            missing.append(_("guarantee contract of %(name)s") % {"name": guarantor.customer.name})
    signed_collaterals = {c.collateral_id for c in contracts if c.kind == "mortgage"}
    for collateral in loan.collaterals.all():
        if collateral.pk not in signed_collaterals:
            missing.append(_("mortgage contract for %(what)s") % {"what": collateral.description})
    if missing:
        raise RuleViolation("contracts_missing", _("Not signed yet: %(items)s (rule 13).") % {"items": "、".join(missing)})
    pending = [c.contract_no for c in contracts if c.effective_on > on]
    if pending:
        raise RuleViolation(
            "contracts_not_effective",
            _("Contracts not yet effective on %(on)s: %(items)s (rule 13).") % {"on": on.isoformat(), "items": ", ".join(pending)},
        )


def check_collateral_ready(loan) -> None:
    """Rule 14: a secured loan's mortgage is registered and the certificate handed to disbursement."""
    if not loan.product.secured:
        return
    registration = getattr(loan, "collateral_registration", None)
    if registration is None or registration.registered_on is None:
        raise RuleViolation("mortgage_not_registered", _("The mortgage has not been registered yet (rule 14)."))
    if registration.handed_over_at is None:
        raise RuleViolation(
            "certificate_not_handed_over", _("The mortgage certificate has not been handed over to disbursement (rule 14).")
        )


def check_receipt_stamped(loan) -> None:
    """Rule 15: the receipt carries value date, maturity, rate and the reviewer's disbursement stamp."""
    receipt = getattr(loan, "receipt", None)
    if receipt is None:
        raise RuleViolation("receipt_missing", _("The loan receipt has not been prepared (rule 15)."))
    if receipt.stamped_by_id is None:
        raise RuleViolation("receipt_not_stamped", _("The loan receipt does not carry the disbursement stamp (rule 15)."))


def check_payment_mode(loan, *, mode: str, amount: Decimal) -> None:
    """Rule 17: entrusted payment by default; self payment only for consumer ≤ 300,000 or business ≤ 500,000."""
    if mode == "entrusted":
        return
    limit = SELF_PAYMENT_LIMITS.get(loan.product.category)
    if limit is None or amount > limit:
        raise RuleViolation(
            "self_payment_not_allowed",
            _("Self payment is allowed only for consumer loans up to 300,000 or business loans up to 500,000; "
              "this loan must use entrusted payment (rule 17)."),
            field="payment_mode",
        )


def check_account(account: str) -> None:
    if not _ACCOUNT.match((account or "").strip()):
        raise RuleViolation("payee_account", _("The payee account must be 8–34 digits."), field="payee_account")
