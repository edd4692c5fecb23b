"""After disbursement: monitoring and early warning (SPEC §12, §16.17–25; issue 18).

Check plans and post-loan checks, each loan's monitoring clock, the fund-use record and its proofs, the signal
catalogue and the signals, the credit-bureau register and the notices outbox. Imported by ``postloan.models`` so
that Django finds them; the rules and operations are in ``postloan.checks``, ``signals``, ``bureau``, ``notices``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from applications.models import MONEY, Customer, Loan, Product
from loancenter import posts as P

LEVELS = [("red", _("Red")), ("orange", _("Orange")), ("yellow", _("Yellow"))]
LEVEL_RANK = {"yellow": 0, "orange": 1, "red": 2}


class CheckPlan(models.Model):
    """A product's post-loan check plan (SPEC §12): the fund-use check N calendar days after disbursement, then a
    routine check every M months. A product without a row uses the defaults (``postloan.checks.plan_for``)."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="check_plan")
    fund_use_days = models.PositiveIntegerField(_("fund-use check within (days)"))
    routine_months = models.PositiveIntegerField(_("routine check every (months)"))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("post-loan check plan")
        verbose_name_plural = _("post-loan check plans")
        constraints = [
            models.CheckConstraint(condition=Q(fund_use_days__gte=1) & Q(routine_months__gte=1), name="check_plan_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.fund_use_days} d / {self.routine_months} m"



class LoanMonitoring(models.Model):
    """Each disbursed loan's routine-check clock: the next routine check is due on ``anchor + seq × months`` (kept
    here so that the nightly batch finds the loans whose check falls due through one index, set-based)."""

    loan = models.OneToOneField(Loan, on_delete=models.CASCADE, primary_key=True, related_name="monitoring")
    anchor = models.DateField()  # the disbursement date
    months = models.PositiveIntegerField()
    seq = models.PositiveIntegerField(default=1)
    next_routine_on = models.DateField()

    class Meta:
        verbose_name = _("loan monitoring")
        verbose_name_plural = _("loan monitoring")
        # Nightly batch: the loans whose next routine check falls due (postloan.checks.create_routine_checks).
        indexes = [models.Index(fields=["next_routine_on"], name="monitoring_next_routine")]

    def __str__(self) -> str:
        return f"{self.loan_id} → {self.next_routine_on}"



class PostLoanCheck(models.Model):
    """A post-loan check (贷后检查): a task with an owner, a due date, a report, a conclusion (SPEC §12, §16.18)."""

    FUND_USE, ROUTINE, SIGNAL = "fund_use", "routine", "signal"
    KINDS = [(FUND_USE, _("Fund-use check")), (ROUTINE, _("Routine check")), (SIGNAL, _("Check after a signal"))]
    OPEN, DONE = "open", "done"
    STATUSES = [(OPEN, _("Open")), (DONE, _("Done"))]
    NORMAL, CONCERN = "normal", "concern"
    CONCLUSIONS = [(NORMAL, _("Normal")), (CONCERN, _("Concern")), (SIGNAL, _("Raise a signal"))]

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="checks")
    kind = models.CharField(_("kind"), max_length=10, choices=KINDS)
    due_on = models.DateField(_("due on"))
    created_on = models.DateField(_("created on"))
    owner_post = models.CharField(_("owner post"), max_length=16)  # marketing (the officer), or general (T2/T3)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=pgettext_lazy("person responsible", "owner"))
    status = models.CharField(_("status"), max_length=4, choices=STATUSES, default=OPEN)
    conclusion = models.CharField(_("conclusion"), max_length=8, choices=CONCLUSIONS, blank=True, default="")
    findings = models.TextField(_("findings"), blank=True)
    borrower_situation = models.TextField(_("the borrower's situation"), blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)
    needs_signoff = models.BooleanField(_("reviewer's sign-off required"), default=False)  # business loans
    signed_off_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    signed_off_at = models.DateTimeField(null=True, blank=True)
    # No index of its own: the unique ``check_per_signal`` is one (each index is one more entry the night writes).
    signal = models.ForeignKey("postloan.Signal", null=True, blank=True, on_delete=models.PROTECT, related_name="checks",
                               db_index=False)
    credit_queries = models.ManyToManyField("postloan.CreditQuery", blank=True, related_name="checks")

    class Meta:
        verbose_name = _("post-loan check")
        verbose_name_plural = _("post-loan checks")
        ordering = ["due_on", "id"]
        constraints = [
            # The batch's routine checks and the signals' checks are created once (idempotent nights).
            models.UniqueConstraint(fields=["loan", "kind", "due_on"], condition=~Q(kind="signal"), name="check_once"),
            models.UniqueConstraint(fields=["signal"], name="check_per_signal"),
            models.UniqueConstraint(fields=["loan"], condition=Q(kind="fund_use"), name="one_fund_use_check"),
        ]
        indexes = [
            # The owner's queue and the register: open checks by owner (or post) and due date.
            models.Index(fields=["owner", "due_on"], condition=Q(status="open"), name="check_open_owner"),
            models.Index(fields=["owner_post", "due_on"], condition=Q(status="open"), name="check_open_post"),
            # Nightly batch: fund-use checks that fall overdue tonight.
            models.Index(fields=["due_on"], condition=Q(status="open", kind="fund_use"), name="check_fund_use_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.due_on}"


class FundUse(models.Model):
    """How the money was paid and used (资金用途, SPEC §12): the counterparty of an entrusted payment, what the payment
    pays for, and for a self payment the date by which the borrower's proofs must cover the amount."""

    loan = models.OneToOneField(Loan, on_delete=models.CASCADE, related_name="fund_use")
    payment_mode = models.CharField(_("payment mode"), max_length=10)
    amount = models.DecimalField(_("amount paid out"), **MONEY)
    counterparty_name = models.CharField(_("counterparty"), max_length=100, blank=True)
    counterparty_account = models.CharField(_("counterparty account"), max_length=34, blank=True)
    counterparty_bank = models.CharField(_("counterparty bank"), max_length=100, blank=True)
    pays_for = models.CharField(_("what the payment pays for (contract or invoice)"), max_length=200, blank=True)
    proof_due_on = models.DateField(_("proof of use due on"), null=True, blank=True)  # self payment: + 30 days
    prohibited_use = models.CharField(_("prohibited use found"), max_length=32, blank=True, default="")
    prohibited_evidence = models.CharField(_("evidence of the prohibited use"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("fund use")
        verbose_name_plural = _("fund uses")

    def __str__(self) -> str:
        return f"{self.loan_id} {self.payment_mode}"



class FundUseProof(models.Model):
    """A proof of use (invoice, receipt) the borrower gave; the proofs must cover the amount paid out."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="fund_use_proofs")
    amount = models.DecimalField(_("amount"), **MONEY)
    description = models.CharField(_("what it proves"), max_length=200)
    document = models.CharField(_("document reference"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("proof of fund use")
        verbose_name_plural = _("proofs of fund use")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="fund_use_proof_positive")]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.amount}"



class SignalType(models.Model):
    """The catalogue of early-warning signals (预警信号, SPEC §12, §16.18): from a data migration; the manager may
    change a level, the owner post and the deadline."""

    code = models.CharField(_("code"), max_length=32, primary_key=True)
    level = models.CharField(_("level"), max_length=6, choices=LEVELS)
    owner_post = models.CharField(_("default owner post"), max_length=16)
    deadline_days = models.PositiveIntegerField(_("deadline (days)"))
    source = models.CharField(_("raised by"), max_length=6)  # batch / manual

    class Meta:
        verbose_name = _("warning signal type")
        verbose_name_plural = _("warning signal types")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code



class Signal(models.Model):
    """An early-warning signal on a loan: raised by the nightly batch or by a person; closed with a reason."""

    OPEN, CLOSED = "open", "closed"
    STATUSES = [(OPEN, _("Open")), (CLOSED, _("Closed"))]
    BATCH, MANUAL = "batch", "manual"
    SOURCES = [(BATCH, _("Nightly batch")), (MANUAL, _("Raised by a person"))]

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="signals")
    code = models.CharField(_("code"), max_length=32)
    level = models.CharField(_("level"), max_length=6, choices=LEVELS)
    source = models.CharField(_("source"), max_length=6, choices=SOURCES)
    raised_on = models.DateField(_("raised on"))
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    owner_post = models.CharField(_("owner post"), max_length=16)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=pgettext_lazy("person responsible", "owner"))
    deadline = models.DateField(_("deadline"))
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(_("status"), max_length=6, choices=STATUSES, default=OPEN)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.TextField(_("reason for closing"), blank=True)

    class Meta:
        verbose_name = _("warning signal")
        verbose_name_plural = _("warning signals")
        ordering = ["-raised_on", "-id"]
        constraints = [
            # One open signal of a code per loan: the batch raises it once, however many nights the fact lasts.
            models.UniqueConstraint(fields=["loan", "code"], condition=Q(status="open"), name="signal_open_once"),
        ]
        indexes = [
            # Nightly grading: does the loan carry an open red signal (at least 关注).
            models.Index(fields=["loan"], condition=Q(status="open", level="red"), name="signal_open_red"),
            # Dashboard and queues: open signals by level, by owner.
            models.Index(fields=["level"], condition=Q(status="open"), name="signal_open_level"),
            models.Index(fields=["owner", "deadline"], condition=Q(status="open"), name="signal_open_owner"),
            # Nightly batch: the signals raised tonight get their checks.
            models.Index(fields=["raised_on"], name="signal_raised_on"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.level})"



class CreditQuery(models.Model):
    """One credit-bureau query (征信查询登记, SPEC §12, §16.22): the written authorisation it relied on, the purpose,
    who asked and when, and the structured result the scorecard reads."""

    PURPOSES = [("pre_loan", _("Pre-loan approval")), ("post_loan", _("Post-loan management")),
                ("guarantor", _("Guarantor check"))]

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credit_queries")
    loan = models.ForeignKey(Loan, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_queries")
    purpose = models.CharField(_("purpose"), max_length=10, choices=PURPOSES)
    # The customer's credit-report authorisation the query relied on, a file (applications.DocumentFile, code
    # credit_authorization). Empty only on queries recorded before authorisations were files: their typed reference
    # is kept in ``authorisation_legacy`` (migration 0021; docs/decisions.md).
    authorisation_document = models.ForeignKey("applications.DocumentFile", null=True, blank=True,
                                               on_delete=models.PROTECT, related_name="+",
                                               verbose_name=_("written authorisation"))
    authorisation_legacy = models.CharField(_("written authorisation (reference typed before files)"), max_length=100,
                                            blank=True)
    queried_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    queried_at = models.DateTimeField(auto_now_add=True)
    summary = models.TextField(_("summary of the result"), blank=True)
    overdue_count_24m = models.PositiveIntegerField(_("overdue count, 24 months"), null=True, blank=True)
    worst_dpd = models.PositiveIntegerField(_("worst days past due"), null=True, blank=True)
    queries_6m = models.PositiveIntegerField(_("queries, 6 months"), null=True, blank=True)
    new_debt = models.DecimalField(_("new debt"), **MONEY, null=True, blank=True)
    # The credit report itself, optional (a summary alone is allowed): the customer's credit report as a file
    # (applications.DocumentFile, code credit_report). A reference typed before reports were files is kept in
    # ``report_legacy`` (migration 0023; docs/decisions.md).
    report_document = models.ForeignKey("applications.DocumentFile", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+", verbose_name=_("credit report (file)"))
    report_legacy = models.CharField(_("report (reference typed before files)"), max_length=100, blank=True)
    # The investigations that relied on this query (SPEC §12: "the investigation … link to the queries they relied
    # on"); declared here so that applications, below postloan, imports nothing of it (Investigation.credit_queries).
    investigations = models.ManyToManyField("applications.Investigation", blank=True, related_name="credit_queries")

    class Meta:
        verbose_name = _("credit query")
        verbose_name_plural = _("credit queries")
        ordering = ["-queried_at", "-id"]
        # The manager's queries-per-officer figure over a period.
        indexes = [models.Index(fields=["queried_at", "queried_by"], name="credit_query_officer")]
        constraints = [models.CheckConstraint(
            condition=Q(authorisation_document__isnull=False) | ~Q(authorisation_legacy=""),
            name="credit_query_authorised")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.purpose} {self.queried_at:%Y-%m-%d}"



class Notice(models.Model):
    """The outbox (SPEC §12, §16.23): a reminder queued for a borrower, sent once by the beat task."""

    PRE_DUE, OVERDUE, REPRICED = "pre_due", "overdue", "repriced"
    KINDS = [(PRE_DUE, _("Before the due date")), (OVERDUE, _("First overdue day")),
             (REPRICED, _("New rate (LPR repricing)"))]
    SMS, LETTER, EMAIL = "sms", "letter", "email"
    CHANNELS = [(SMS, _("SMS")), (LETTER, _("Letter")), (EMAIL, _("E-mail"))]
    QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
    STATUSES = [(QUEUED, _("Queued")), (SENDING, _("Sending")), (SENT, _("Sent")), (FAILED, _("Failed"))]

    # No index of its own: the unique ``notice_once`` leads with the loan (the night queues some 37,000 notices at
    # 1,000,000 loans; each index is one more entry written for each). No database foreign key either (docs/decisions.md
    # "The outbox and the repricing records keep no database key to the loan"): only the batch's SQL writes notices,
    # from the loan rows it reads, and a loan that has them can never be deleted (its disbursement and its audit
    # trail protect it, in the database too); the key's check locked every such loan row at commit, 1.1 s of the
    # 1,000,000-loan night. The ORM still follows the relation (and would cascade).
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="notices", db_index=False,
                             db_constraint=False)
    kind = models.CharField(_("kind"), max_length=8, choices=KINDS)
    channel = models.CharField(_("channel"), max_length=6, choices=CHANNELS)
    due_date = models.DateField(_("installment due on"))
    # What is due and where it goes are read when the notice is sent (the batch writes only the loan and the date).
    amount = models.DecimalField(_("amount due"), **MONEY, null=True, blank=True)
    recipient = models.CharField(_("recipient"), max_length=100, blank=True)
    scheduled_for = models.DateTimeField(_("scheduled for"))
    status = models.CharField(_("status"), max_length=8, choices=STATUSES, default=QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    answer = models.TextField(_("answer"), blank=True)
    created_on = models.DateField()

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-scheduled_for", "-id"]
        constraints = [
            # Each reminder once: the batch may run a date again and catch up several nights.
            models.UniqueConstraint(fields=["loan", "kind", "channel", "due_date"], name="notice_once"),
        ]
        # The sender: queued notices whose time has come.
        indexes = [models.Index(fields=["scheduled_for"], condition=Q(status="queued"), name="notice_queued")]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel} {self.due_date}"


class CollateralRevaluation(models.Model):
    """A revaluation of a collateral after disbursement (SPEC §12): when, what it is worth, who valued it and the
    valuation report as a file. The loan-to-value it gives (outstanding principal over the collateral's latest values)
    above the product's limit raises the ``collateral_value_drop`` signal (``postloan.collateral``)."""

    collateral = models.ForeignKey("applications.Collateral", on_delete=models.PROTECT, related_name="revaluations",
                                   verbose_name=_("collateral"))
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="revaluations")
    valued_on = models.DateField(_("valued on"))
    value = models.DecimalField(_("value"), **MONEY)
    valuer = models.CharField(_("valuer"), max_length=100)
    document = models.ForeignKey("applications.DocumentFile", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("valuation report"))
    ltv = models.DecimalField(_("loan-to-value"), max_digits=9, decimal_places=4)
    max_ltv = models.DecimalField(_("the product's limit"), max_digits=5, decimal_places=4, null=True, blank=True)
    signal = models.ForeignKey("postloan.Signal", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-valued_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(value__gt=0), name="revaluation_value_positive")]
        verbose_name = _("collateral revaluation")
        verbose_name_plural = _("collateral revaluations")

    def __str__(self) -> str:
        return f"{self.collateral_id} {self.valued_on} {self.value}"


COLLECTION_TIERS = ("T2", "T3")  # the tiers whose loans the general post works (SPEC §12)


def owner_of(loan: Loan) -> tuple[str, object | None]:
    """Who owns a new check or signal of ``loan`` (SPEC §12): its marketing officer; T2/T3 loans the general post."""
    if loan.collection_tier in COLLECTION_TIERS:
        return P.GENERAL, None
    return P.MARKETING, loan.marketing_officer
