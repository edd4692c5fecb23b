from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from applications.models import RATE, Collateral, Guarantor, Loan
from loancenter.lib.identifiers import CERTIFICATE_NO, CONTRACT_NO, IdentifierField
from loancenter.lib.money import MoneyField


class Contract(models.Model):
    """A signed contract: the loan contract, and one guarantee or mortgage contract per guarantor / collateral."""

    KIND_LOAN, KIND_GUARANTEE, KIND_MORTGAGE = "loan", "guarantee", "mortgage"
    KINDS = [(KIND_LOAN, _("Loan contract")), (KIND_GUARANTEE, _("Guarantee contract")),
             (KIND_MORTGAGE, _("Mortgage contract"))]

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="contracts")
    kind = models.CharField(_("kind"), max_length=10, choices=KINDS)
    contract_no = IdentifierField(_("contract number"), kind=CONTRACT_NO, max_length=40, unique=True)  # normalised (rule 25)
    guarantor = models.OneToOneField(Guarantor, null=True, blank=True, on_delete=models.PROTECT, related_name="contract")
    collateral = models.OneToOneField(Collateral, null=True, blank=True, on_delete=models.PROTECT, related_name="contract")
    signed_on = models.DateField(_("signed on"))
    signed_in_person = models.BooleanField(_("signed face to face"), default=True)
    effective_on = models.DateField(_("effective on"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["kind", "id"]
        constraints = [
            # One loan contract per loan.
            models.UniqueConstraint(fields=["loan"], condition=Q(kind="loan"), name="one_loan_contract_per_loan"),
        ]


class CollateralRegistration(models.Model):
    """One line of the mortgage registration ledger (抵押登记台帐)."""

    loan = models.OneToOneField(Loan, on_delete=models.PROTECT, related_name="collateral_registration")
    clerk = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    applied_on = models.DateField(_("applied at the registry on"))
    registry = models.CharField(_("registry"), max_length=100)
    registered_on = models.DateField(_("registered on"), null=True, blank=True)
    certificate_no = IdentifierField(_("certificate (他项权证) number"), kind=CERTIFICATE_NO, max_length=60, unique=True,
                                     null=True, blank=True)  # normalised (rule 25)
    handed_over_at = models.DateTimeField(_("certificate handed to disbursement at"), null=True, blank=True)
    handed_over_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("collateral registration")
        verbose_name_plural = _("collateral registrations")
        ordering = ["-applied_on", "-id"]
        indexes = [models.Index(fields=["registered_on", "applied_on"], name="ledger_open")]  # ledger: open applications


class LoanReceipt(models.Model):
    """The loan receipt (借据) with the reviewer's disbursement stamp (放款专用章), rule 15."""

    loan = models.OneToOneField(Loan, on_delete=models.PROTECT, related_name="receipt")
    receipt_no = models.CharField(_("receipt number"), max_length=40, unique=True)
    amount = MoneyField(_("amount"))
    value_date = models.DateField(_("value date"))
    maturity_date = models.DateField(_("maturity date"))
    annual_rate = models.DecimalField(_("annual rate"), **RATE)
    repayment_method = models.CharField(_("repayment method"), max_length=20)
    prepared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    prepared_at = models.DateTimeField(auto_now_add=True)
    stamped_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    stamped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("loan receipt")
        verbose_name_plural = _("loan receipts")
        constraints = [models.CheckConstraint(condition=Q(maturity_date__gt=models.F("value_date")), name="receipt_dates")]


class Disbursement(models.Model):
    """The one release of funds for a loan (rule 16: the unique loan makes a second one impossible)."""

    MODES = [("entrusted", _("Entrusted payment (受托支付)")), ("self", _("Self payment (自主支付)"))]

    loan = models.OneToOneField(Loan, on_delete=models.PROTECT, related_name="disbursement")
    amount = MoneyField(_("amount"))
    disbursed_on = models.DateField(_("disbursed on"))
    payee_account = models.CharField(_("payee account"), max_length=34)
    payment_mode = models.CharField(_("payment mode"), max_length=10, choices=MODES, default="entrusted")
    disburser = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("disbursement")
        verbose_name_plural = _("disbursements")
