"""Collateral revaluation after disbursement (SPEC §12: "collateral value fallen below the LTV limit (a revaluation
record on the collateral)"; issue 18 part 3).

A revaluation records the collateral's new value, the date, the valuer and the valuation report (a live file of the
loan's or the borrower's folder, uploaded through the documents endpoints). The loan-to-value is the outstanding
principal over the sum of its collaterals' latest values (each one's latest revaluation, else the value the
investigation verified, else the appraisal); above the product's ``max_ltv`` it raises the ``collateral_value_drop``
signal, once: an open one is kept and the revaluation points to it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from applications import rules as app_rules
from applications.files.models import DocumentFile
from applications.models import Collateral, Loan, Status
from applications.workflow import audit
from loancenter import posts as P
from loancenter.lib.errors import Forbidden, InvalidState, RuleViolation
from loancenter.lib.money import ZERO, q2
from loancenter.refusals import recorded
from loancenter.rules import check_past_date
from postloan.monitoring_models import CollateralRevaluation, Signal

REVALUE_POSTS = (P.MARKETING, P.GENERAL, P.MANAGER)
SIGNAL = "collateral_value_drop"
MAX_VALUE = Decimal("1e12")


def current_value(collateral: Collateral) -> Decimal:
    """The collateral's value as the bank last knew it: its latest revaluation, else the verified or appraised value."""
    latest = collateral.revaluations.order_by("-valued_on", "-id").values_list("value", flat=True).first()
    if latest is not None:
        return latest
    return collateral.verified_appraised_value or collateral.appraised_value


def loan_to_value(loan: Loan, values: dict[int, Decimal]) -> Decimal | None:
    total = sum(values.values(), ZERO)
    return (loan.outstanding_principal / total).quantize(Decimal("0.0001")) if total > 0 else None


def _amount(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise RuleViolation("value", _("Enter the collateral's value."), field="value") from None
    if not amount.is_finite() or amount <= 0 or amount >= MAX_VALUE or amount != q2(amount):
        raise RuleViolation("value", _("Enter a value above 0 with at most two decimals."), field="value")
    return amount


@recorded("collateral_revalue", loan=("collateral_id", Collateral), posts=REVALUE_POSTS)
def collateral_revalue(*, collateral_id: int, actor, value, valued_on: date, valuer: str,
                       document_id: int | None) -> CollateralRevaluation:
    """Record a revaluation; raise the LTV signal when the loan-to-value is now above the product's limit."""
    from postloan.signals import raise_signal

    amount = _amount(value)
    with transaction.atomic():
        collateral = Collateral.objects.get(pk=collateral_id)
        loan = Loan.objects.select_for_update().select_related("product", "marketing_officer").get(pk=collateral.loan_id)
        app_rules.check_separation(loan, actor, None)
        if not actor.has_any_post(P.GENERAL, P.MANAGER) and loan.marketing_officer_id != actor.pk:
            raise Forbidden("not_owner", _("A collateral is revalued by the loan's marketing officer, the general post "
                                           "or the manager."))
        if loan.status != Status.ACTIVE:
            raise InvalidState(_("Collateral is revalued while the loan is active (this one is %(s)s).")
                               % {"s": loan.get_status_display()})
        check_past_date(valued_on, field="valued_on", code="valued_on", not_before=loan.receipt.value_date,
                        not_before_what=_("the loan's value date"))
        if not (valuer or "").strip():
            raise RuleViolation("valuer", _("Name who valued the collateral."), field="valuer")
        if document_id in (None, ""):
            raise RuleViolation("document_required", _("A revaluation is recorded with its valuation report: upload it "
                                                       "to the loan's files and choose it."), field="document")
        document = (DocumentFile.objects.filter(pk=document_id, state=DocumentFile.State.ACTIVE)
                    .filter(Q(loan=loan) | Q(loan__isnull=True, customer_id=loan.customer_id)).first())
        if document is None:
            raise RuleViolation("document_required", _("The valuation report must be a live file of this loan or of the "
                                                       "borrower's folder."), field="document")
        values = {c.pk: current_value(c) for c in loan.collaterals.all()}
        values[collateral.pk] = amount
        ltv = loan_to_value(loan, values)
        limit = loan.product.max_ltv
        revaluation = CollateralRevaluation(
            collateral=collateral, loan=loan, valued_on=valued_on, value=amount, valuer=valuer.strip()[:100],
            document=document, ltv=ltv if ltv is not None else ZERO, max_ltv=limit, recorded_by=actor)
        if limit is not None and ltv is not None and ltv > limit:
            revaluation.signal = (Signal.objects.filter(loan=loan, code=SIGNAL, status=Signal.OPEN).first()
                                  or raise_signal(loan=loan, actor=actor, code=SIGNAL, note=_(
                                      "Revalued at %(v)s on %(d)s: loan-to-value %(ltv)s above the limit %(max)s.")
                                      % {"v": f"{amount:,.2f}", "d": valued_on.isoformat(), "ltv": f"{ltv:.2%}",
                                         "max": f"{limit:.2%}"}))
        revaluation.save()
        audit(actor=actor, action="collateral_revalue", loan=loan, obj=revaluation, payload={
            "collateral": collateral.pk, "value": amount, "valued_on": valued_on, "valuer": revaluation.valuer,
            "document": document.pk, "ltv": ltv, "max_ltv": limit, "signal": revaluation.signal_id})
    return revaluation


def revaluations_of(loan: Loan):
    return (CollateralRevaluation.objects.filter(loan=loan)
            .select_related("collateral", "document", "recorded_by", "signal").order_by("-valued_on", "-id"))

