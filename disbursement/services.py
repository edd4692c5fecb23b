"""Contract signing, collateral registration ledger, loan receipt and disbursement (SPEC §2, rules 12a–17)."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.catalog import LPR_RATE_TYPES, REPRICING_ANNIVERSARY, REPRICING_RULE_LABELS
from applications.certificates import check_certificates_free
from applications.models import Loan, Status
from applications.rules import REGISTRAR, check_separation
from applications.services import check_people_again
from applications.workflow import audit, run_transition
from disbursement import rules
from disbursement.models import CollateralRegistration, Contract, Disbursement, LoanReceipt
from loancenter import posts as P
from loancenter.lib.dates import add_months, today
from loancenter.lib.errors import InvalidState, RuleViolation
from loancenter.lib.identifiers import normalise_certificate_no, normalise_contract_no
from loancenter.refusals import recorded
from loancenter.rules import check_past_date, require_post


def loan_sign_contract(*, loan_id: int, actor, contract_no: str, signed_on: date, signed_in_person: bool = True,
                       repricing: str = REPRICING_ANNIVERSARY) -> Loan:
    """面签: the loan contract and every guarantee and mortgage contract, signed face to face (rules 12a, 13).

    Guarantee and mortgage contracts take the loan contract's number with a suffix (-G1, -M1, …). An LPR-linked
    loan's contract chooses its repricing date: each anniversary of the value date, or each 1 January (§16.31).
    """
    contract_no = normalise_contract_no(contract_no)  # rule 25: checked and stored in its normal form
    payload = {"contract_no": contract_no, "signed_on": signed_on, "signed_in_person": signed_in_person,
               "repricing": repricing}

    def check(loan: Loan) -> None:
        if not contract_no:
            raise RuleViolation("contract_no", _("Enter the contract number."), field="contract_no")
        if not signed_in_person:
            raise RuleViolation("not_in_person", _("Contracts are signed face to face with the borrower (rule 12a)."),
                                field="signed_in_person")
        check_past_date(signed_on, field="signed_on", code="future_date")
        if loan.decided_at and signed_on < timezone.localtime(loan.decided_at).date():
            raise RuleViolation("signed_on", _("The contract cannot be signed before the approval."), field="signed_on")
        if repricing not in REPRICING_RULE_LABELS:
            raise RuleViolation("repricing", _("The repricing date is each anniversary or each 1 January."),
                                field="repricing")
        if Contract.objects.filter(contract_no__startswith=contract_no).exists():
            raise RuleViolation("duplicate_contract_no", _("Contract number %(no)s is already used.") % {"no": contract_no},
                                field="contract_no")

    def apply(loan: Loan) -> None:
        common = {"loan": loan, "signed_on": signed_on, "effective_on": signed_on, "recorded_by": actor,
                  "signed_in_person": signed_in_person}
        rows = [Contract(kind=Contract.KIND_LOAN, contract_no=contract_no, **common)]
        for i, guarantor in enumerate(loan.guarantors.order_by("id"), start=1):
            rows.append(Contract(kind=Contract.KIND_GUARANTEE, contract_no=f"{contract_no}-G{i}", guarantor=guarantor, **common))
        for i, collateral in enumerate(loan.collaterals.order_by("id"), start=1):
            rows.append(Contract(kind=Contract.KIND_MORTGAGE, contract_no=f"{contract_no}-M{i}", collateral=collateral, **common))
        Contract.objects.bulk_create(rows)
        loan.repricing_rule = repricing if loan.rate_type in LPR_RATE_TYPES else ""

    return run_transition(loan_id=loan_id, actor=actor, name="sign_contract", payload=payload, check=check, apply=apply)


@recorded("registration_apply", posts=(P.MORTGAGE_CLERK,))
@transaction.atomic
def registration_apply(*, loan_id: int, actor, registry: str, applied_on: date) -> CollateralRegistration:
    """The mortgage clerk files the registration at the registry: a new line of the ledger (no state change)."""
    loan = Loan.objects.select_for_update().get(pk=loan_id)
    if not loan.product.secured or loan.status != Status.CONTRACT_SIGNED:
        raise InvalidState(_("Only a secured loan with signed contracts can be filed for registration."))
    check_separation(loan, actor, REGISTRAR)
    check_past_date(applied_on, field="applied_on", code="future_date")
    if hasattr(loan, "collateral_registration"):
        raise InvalidState(_("The registration of this loan is already in the ledger."))
    if not (registry or "").strip():
        raise RuleViolation("registry", _("Name the registry."), field="registry")
    entry = CollateralRegistration.objects.create(loan=loan, clerk=actor, applied_on=applied_on, registry=registry.strip())
    audit(actor=actor, action="registration_apply", loan=loan, obj=entry, payload={"registry": registry, "applied_on": applied_on})
    return entry


def loan_register_collateral(*, loan_id: int, actor, registry: str, registered_on: date, certificate_no: str,
                             applied_on: date | None = None) -> Loan:
    """The registry has registered the mortgage; the certificate (他项权证) number goes into the ledger."""
    certificate_no = normalise_certificate_no(certificate_no)  # rule 25
    payload = {"registry": registry, "registered_on": registered_on, "certificate_no": certificate_no}

    def check(loan: Loan) -> None:
        if not loan.product.secured:
            raise InvalidState(_("This loan is unsecured; there is no collateral to register."))
        if not certificate_no:
            raise RuleViolation("certificate_no", _("Enter the certificate number."), field="certificate_no")
        if not (registry or "").strip():
            raise RuleViolation("registry", _("Name the registry."), field="registry")
        check_past_date(registered_on, field="registered_on", code="future_date")
        check_certificates_free(loan.collaterals.all(), loan=loan)
        if CollateralRegistration.objects.filter(certificate_no=certificate_no).exists():
            raise RuleViolation("duplicate_certificate", _("Certificate %(no)s is already in the ledger.") % {"no": certificate_no},
                                field="certificate_no")

    def apply(loan: Loan) -> None:
        entry = getattr(loan, "collateral_registration", None)
        if entry is None:
            entry = CollateralRegistration(loan=loan, clerk=actor, applied_on=applied_on or registered_on)
        if registered_on < entry.applied_on:
            raise RuleViolation("registered_on", _("Registration cannot precede the application."), field="registered_on")
        entry.registry, entry.registered_on, entry.certificate_no = registry.strip(), registered_on, certificate_no
        entry.clerk = actor
        entry.save()

    return run_transition(loan_id=loan_id, actor=actor, name="register_collateral", payload=payload, check=check, apply=apply)


@recorded("certificate_hand_over", posts=(P.MORTGAGE_CLERK,))
@transaction.atomic
def certificate_hand_over(*, loan_id: int, actor, to_user) -> CollateralRegistration:
    """The mortgage clerk hands the certificate to a disbursement officer; recorded in the ledger (rule 14)."""
    entry = CollateralRegistration.objects.select_for_update().select_related("loan").get(loan_id=loan_id)
    check_separation(entry.loan, actor, REGISTRAR)
    if entry.registered_on is None:
        raise InvalidState(_("The mortgage is not registered yet."))
    if entry.handed_over_at is not None:
        raise InvalidState(_("The certificate was already handed over."))
    if not to_user.has_post(P.DISBURSEMENT):
        raise RuleViolation("handover", _("The certificate goes to a disbursement officer."), field="to_user")
    entry.handed_over_at, entry.handed_over_to = timezone.now(), to_user
    entry.save(update_fields=["handed_over_at", "handed_over_to"])
    audit(actor=actor, action="certificate_hand_over", loan=entry.loan, obj=entry, payload={"to": to_user.username})
    return entry


def loan_prepare_receipt(*, loan_id: int, actor, value_date: date, apply_stamp: bool = True) -> Loan:
    """The reviewer fills the receipt (借据) from the approved terms and applies the disbursement stamp (rule 15)."""
    payload = {"value_date": value_date, "apply_stamp": apply_stamp}

    def check(loan: Loan) -> None:
        check_people_again(loan, as_of=today())  # rule 24
        if value_date < today():
            raise RuleViolation("value_date", _("The value date cannot be in the past."), field="value_date")
        rules.check_contracts_effective(loan, on=value_date)
        rules.check_collateral_ready(loan)

    def apply(loan: Loan) -> None:
        now = timezone.now() if apply_stamp else None
        terms = loan.terms  # kept at approval (rule 29)
        LoanReceipt.objects.create(
            loan=loan, receipt_no=f"JJ{loan.application_no}", amount=terms.amount, value_date=value_date,
            maturity_date=add_months(value_date, terms.term_months), annual_rate=terms.annual_rate,
            repayment_method=terms.repayment_method, prepared_by=actor, stamped_by=actor if apply_stamp else None,
            stamped_at=now,
        )

    return run_transition(loan_id=loan_id, actor=actor, name="prepare_receipt", payload=payload, check=check, apply=apply)


@recorded("receipt_stamp", posts=(P.REVIEWER,))
@transaction.atomic
def receipt_stamp(*, loan_id: int, actor) -> LoanReceipt:
    """Apply the disbursement stamp to a receipt prepared without it."""
    receipt = LoanReceipt.objects.select_for_update().select_related("loan").get(loan_id=loan_id)
    from applications.rules import RECEIPT_PREPARER, REVIEWER

    check_separation(receipt.loan, actor, (REVIEWER, RECEIPT_PREPARER))  # the stamp makes its reviewer the preparer
    if receipt.stamped_by_id:
        raise InvalidState(_("The receipt is already stamped."))
    receipt.stamped_by, receipt.stamped_at = actor, timezone.now()
    receipt.save(update_fields=["stamped_by", "stamped_at"])
    audit(actor=actor, action="receipt_stamp", loan=receipt.loan, obj=receipt)
    return receipt


def loan_disburse(*, loan_id: int, actor, disbursed_on: date, payee_account: str, payment_mode: str = "entrusted",
                  counterparty_name: str = "", counterparty_account: str = "", counterparty_bank: str = "",
                  pays_for: str = "") -> Loan:
    """Release the funds exactly once (rule 16) and start the repayment schedule; then, in a transaction of its own
    (SPEC §16.17), the fund-use record with the counterparty (optional here) and the fund-use check.

    A retried or double-clicked request for a loan already disbursed returns the loan as the first request left it.
    """
    from postloan.checks import after_disbursement, ensure_fund_use_check
    from postloan.services import schedule_create

    payload = {"disbursed_on": disbursed_on, "payee_account": payee_account, "payment_mode": payment_mode}

    def check(loan: Loan) -> None:
        check_people_again(loan, as_of=today())  # rule 24
        rules.check_contracts_effective(loan, on=disbursed_on)
        rules.check_collateral_ready(loan)
        rules.check_receipt_stamped(loan)
        check_past_date(disbursed_on, field="disbursed_on", code="disbursed_on")
        if disbursed_on != loan.receipt.value_date:
            raise RuleViolation(
                "disbursed_on",
                _("The receipt's value date is %(value)s; funds are released on that date.") % {"value": loan.receipt.value_date},
                field="disbursed_on",
            )
        rules.check_payment_mode(loan, mode=payment_mode, amount=loan.approved_amount)
        rules.check_account(payee_account)

    def apply(loan: Loan) -> None:
        Disbursement.objects.create(loan=loan, amount=loan.approved_amount, disbursed_on=disbursed_on,
                                    payee_account=payee_account.strip(), payment_mode=payment_mode, disburser=actor)
        schedule_create(loan=loan)

    def first_result() -> Loan | None:
        done = Loan.objects.filter(pk=loan_id, disbursement__isnull=False).first()
        if done is not None:
            require_post(actor, P.DISBURSEMENT)
        return done

    if (done := first_result()) is not None:  # a retry of a finished disbursement: nothing to refuse or log
        ensure_fund_use_check(loan_id)
        return done
    try:
        loan = run_transition(loan_id=loan_id, actor=actor, name="disburse", payload=payload, check=check, apply=apply)
    except (InvalidState, IntegrityError):
        # A twin request won the row lock while this one waited: it gets the twin's result.
        if (done := first_result()) is None:
            raise
        return done
    after_disbursement(loan_id=loan_id, counterparty={
        "counterparty_name": counterparty_name, "counterparty_account": counterparty_account,
        "counterparty_bank": counterparty_bank, "pays_for": pays_for})
    return loan
