from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import FSMModelMixin, transition

from applications.models import Loan
from loancenter import posts as P
from loancenter.lib.fsm import StateField
from loancenter.lib.money import MoneyField, q2
from loancenter.rules import held_by


class Installment(models.Model):
    PENDING, PARTIAL, PAID, OVERDUE = "pending", "partially_paid", "paid", "overdue"
    STATUSES = [(PENDING, _("Pending")), (PARTIAL, _("Partially paid")), (PAID, _("Paid")), (OVERDUE, _("Overdue"))]

    # No index of its own: the unique (loan, number) leads with the loan (issue 19: each index is one more entry
    # written per installment the 1 January night rewrites).
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="installments", db_index=False)
    number = models.PositiveIntegerField()
    due_date = models.DateField()
    principal = MoneyField()
    interest = MoneyField()
    paid_principal = MoneyField(default=0)
    paid_interest = MoneyField(default=0)
    penalty = MoneyField(_("penalty interest accrued"), default=0)
    paid_penalty = MoneyField(default=0)
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    paid_off_on = models.DateField(null=True, blank=True)
    # Penalty accrues daily, unrounded, on the unpaid principal and interest once the installment is overdue. It is
    # written only when that base changes (a payment, a prepayment, a write-off): ``penalty_accrued`` up to
    # ``penalty_through``, ``penalty`` its value in cents. Between changes it grows in closed form (penalty_on).
    penalty_accrued = models.DecimalField(max_digits=20, decimal_places=8, default=0)
    penalty_through = models.DateField(null=True, blank=True)
    # SPEC §15: the repricing date from which this installment's principal and interest were recomputed at a new rate
    # (postloan.repricing); empty while it keeps the rate of the disbursement.
    repriced_on = models.DateField(_("repriced on"), null=True, blank=True)

    class Meta:
        verbose_name = _("installment")
        verbose_name_plural = _("installments")
        ordering = ["loan_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "number"], name="installment_number_once"),
            models.CheckConstraint(condition=Q(principal__gte=0) & Q(interest__gte=0), name="installment_non_negative"),
            models.CheckConstraint(
                condition=Q(paid_principal__lte=models.F("principal")) & Q(paid_interest__lte=models.F("interest"))
                & Q(paid_penalty__lte=models.F("penalty")),
                name="installment_not_overpaid",
            ),
        ]
        indexes = [
            # Nightly batch and allocation: a loan's unpaid installments by due date (``paid_off_on IS NULL`` is an
            # index condition, so it also serves the batch's penalty step and signals; the partial index
            # ``installment_open`` it made redundant is gone, issue 19).
            models.Index(fields=["loan", "paid_off_on", "due_date"], name="installment_unpaid"),
            # The installments due in a period (the night's 收息率, the reports). The due date only: with ``interest``
            # in it (an index-only read of the figures) no repricing update could be HOT, and a 1 January night
            # rewrites five million installments (docs/decisions.md "The 1 January night's updates in place").
            models.Index(fields=["due_date"], name="installment_period_interest"),
        ]

    @property
    def scheduled(self):
        """The installment as scheduled: principal and interest, the figure the borrower pays."""
        return self.principal + self.interest

    @property
    def total_due(self):
        """What is owed on the installment with the penalty as last written (call accrue_to first)."""
        return (self.principal - self.paid_principal) + (self.interest - self.paid_interest) + (self.penalty - self.paid_penalty)

    def _accrued_on(self, day, daily_rate: Decimal) -> Decimal:
        if self.paid_off_on is not None or day is None or self.due_date >= day:
            return self.penalty_accrued
        since = max(self.due_date, self.penalty_through or self.due_date)
        days = (day - since).days
        if days <= 0:
            return self.penalty_accrued
        base = (self.principal - self.paid_principal) + (self.interest - self.paid_interest)
        return self.penalty_accrued + base * daily_rate * days

    def penalty_on(self, day, daily_rate: Decimal | None = None) -> Decimal:
        """Penalty interest accrued up to ``day`` (in cents). ``daily_rate`` defaults to this installment's
        (``RateHistory.penalty_daily_rate``); penalty grows only while the loan is active (a written-off loan's penalty
        stays as written off)."""
        if daily_rate is None:
            if self.loan.status != "active":
                return self.penalty
            if self.paid_off_on is not None or day is None or self.due_date >= day:
                return q2(self.penalty_accrued)  # not overdue on ``day``: nothing accrues (no rate to look up)
            daily_rate = rate_history(self.loan).penalty_daily_rate(self)
        return q2(self._accrued_on(day, daily_rate))

    def accrue_to(self, day, daily_rate: Decimal) -> None:
        """Write the penalty accrued up to ``day`` into the fields (before its base changes); never goes back."""
        if self.paid_off_on is not None or self.due_date >= day or (self.penalty_through or self.due_date) >= day:
            return
        self.penalty_accrued = self._accrued_on(day, daily_rate)
        self.penalty = q2(self.penalty_accrued)
        self.penalty_through = day
        self.status = self.OVERDUE

    def due_on(self, day, rates: RateHistory | None = None) -> Decimal:
        """Principal, interest and penalty still owed as of ``day`` (``rates``: the loan's, read once by a caller that
        asks for several installments)."""
        daily_rate = rates.penalty_daily_rate(self) if rates is not None and self.loan.status == "active" else None
        return (self.principal - self.paid_principal) + (self.interest - self.paid_interest) + (
            self.penalty_on(day, daily_rate) - self.paid_penalty)


ACCRUAL_FIELDS = ["penalty_accrued", "penalty", "penalty_through", "status"]


def accrue_penalties(loan, installments, day) -> None:
    """Bring the penalty of ``installments`` (a loan's, locked) up to ``day`` before a payment, prepayment or
    write-off changes what it accrues on; saved by the caller with the installments (ACCRUAL_FIELDS)."""
    rates = rate_history(loan)
    for inst in installments:
        inst.accrue_to(day, rates.penalty_daily_rate(inst))


@dataclass(frozen=True)
class RateHistory:
    """A loan's contract rates (SPEC §15, §16.31–33; issue 19): the kept rate of rule 29 from the value date, then each
    repricing's new rate from its date. ``on`` is THE rule for "the annual rate in force for this loan on a date";
    every money calculation after disbursement asks it (servicing, penalty), never the kept rate directly:

    - the rate in force on D = the new rate of the latest repricing dated on or before D, else the kept rate. A
      period's rate is the rate in force on its start (the batch reprices exactly the installments whose period starts
      on or after the repricing date), so the running period's interest is at the rate of its start, and a period
      starting after today at the current rate (the clock's, ``RateClock.current_rate``: no repricing is dated after
      the batch's date); the batch reprices it again when its next repricing date comes;
    - an installment's rate (``of``) = the rate in force on its ``repriced_on`` (the repricing whose rate its figures
      were computed at), else the kept rate: an overdue or partly paid installment the batch left alone keeps its rate;
    - a fixed-rate loan has no repricing: the kept rate on every date (no query)."""

    kept: Decimal
    penalty_markup: Decimal | None
    repricings: tuple[tuple, ...] = ()  # (repriced_on, new rate), oldest first

    def basis(self, day) -> tuple[Decimal, object]:
        """(the rate in force on ``day``, the date of the repricing that set it or None for the kept rate)."""
        rate, since = self.kept, None
        for repriced_on, new_rate in self.repricings:
            if repriced_on > day:
                break
            rate, since = new_rate, repriced_on
        return rate, since

    def on(self, day) -> Decimal:
        return self.basis(day)[0]

    def of(self, inst: Installment) -> Decimal:
        """The rate an installment's figures were computed at (its period's)."""
        return self.on(inst.repriced_on) if inst.repriced_on is not None else self.kept

    def penalty_daily_rate(self, inst: Installment) -> Decimal:
        """SPEC §5–6: the contract rate of the overdue installment's period × (1 + the kept penalty markup) / 360."""
        if self.penalty_markup is None:
            raise ValueError("the loan has no kept terms: it was never approved")
        return self.of(inst) * (1 + self.penalty_markup) / 360


def rate_history(loan) -> RateHistory:
    """The loan's rates: one query for an LPR-linked loan (its repricings), none for a fixed-rate one."""
    terms = loan.terms
    kept = loan.annual_rate if loan.annual_rate is not None else loan.receipt.annual_rate
    markup = terms.penalty_markup if terms is not None else None
    if not loan.lpr_linked or loan.pk is None:
        return RateHistory(kept, markup)
    rows = Repricing.objects.filter(loan_id=loan.pk).order_by("repriced_on").values_list("repriced_on", "new_rate")
    return RateHistory(kept, markup, tuple(rows))


def rate_in_force(loan, day) -> Decimal:
    """The annual rate in force for ``loan`` on ``day`` (RateHistory.on)."""
    return rate_history(loan).on(day)


class Repayment(models.Model):
    """A payment received for a loan. The reference is unique: the same payment twice is applied once (SPEC §5)."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="repayments")
    reference = models.CharField(_("reference"), max_length=64, unique=True)
    amount = MoneyField(_("amount"))
    paid_on = models.DateField(_("paid on"))
    to_penalty = MoneyField()
    to_interest = MoneyField()
    to_principal = MoneyField()
    allocation = models.JSONField(default=list)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("repayment")
        verbose_name_plural = _("repayments")
        ordering = ["paid_on", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="repayment_positive")]


GRADES = ["normal", "special_mention", "substandard", "doubtful", "loss"]
GRADE_LABELS = {
    "normal": _("Normal"), "special_mention": _("Special mention"), "substandard": _("Substandard"),
    "doubtful": _("Doubtful"), "loss": _("Loss"),
}
GRADE_CHOICES = list(GRADE_LABELS.items())
TIERS = ["T1", "T2", "T3"]
# Labels of the collection tiers ("" is a loan not overdue), for pages and exports (SPEC §6).
TIER_CHOICES = [("", _("Not overdue")), ("T1", _("T1 (1–30 days overdue)")), ("T2", _("T2 (31–90 days overdue)")),
                ("T3", _("T3 (over 90 days overdue)"))]


class ProvisionRate(models.Model):
    """Loan-loss provision rate per grade (SPEC §6), configurable; defaults 1/2/25/50/100 %."""

    grade = models.CharField(max_length=16, choices=GRADE_CHOICES, unique=True)
    rate = models.DecimalField(max_digits=5, decimal_places=4)

    class Meta:
        verbose_name = _("provision rate")
        verbose_name_plural = _("provision rates")
        constraints = [models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lte=1), name="provision_rate_range")]


class BatchRun(models.Model):
    """One nightly batch for one as-of date; its chunks run on as many workers as there are."""

    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
    STATUSES = [(QUEUED, _("Queued")), (RUNNING, _("Running")), (DONE, _("Done")), (FAILED, _("Failed"))]

    as_of = models.DateField(unique=True)
    status = models.CharField(max_length=8, choices=STATUSES, default=QUEUED)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    loans = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Figures the dashboard would otherwise compute over every loan or installment per page view (issue 6),
    # written once when the run finishes: borrowers with active loans, and the default period's interest.
    borrowers = models.PositiveIntegerField(null=True, blank=True)
    period_interest_due = MoneyField(max_digits=18, null=True, blank=True)
    period_interest_received = MoneyField(max_digits=18, null=True, blank=True)
    # Fixed when the run is planned: the previous finished run it compares with, the provision rates it applies, and
    # whether it grades every loan (no previous run, or other rates) rather than only tonight's candidates.
    previous_as_of = models.DateField(null=True, blank=True)
    provision_rates = models.JSONField(default=dict, blank=True)
    graded_all = models.BooleanField(default=False)
    loans_changed = models.PositiveIntegerField(default=0)  # loans whose tier, grade or provision the run changed

    class Meta:
        verbose_name = _("nightly batch run")
        verbose_name_plural = _("nightly batch runs")
        ordering = ["-as_of"]

    @property
    def progress(self) -> int:
        return int(100 * self.chunks_done / self.chunks_total) if self.chunks_total else (100 if self.status == self.DONE else 0)

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class BatchChunk(models.Model):
    PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"

    run = models.ForeignKey(BatchRun, on_delete=models.CASCADE, related_name="chunks")
    lo = models.BigIntegerField()  # loan id range [lo, hi)
    hi = models.BigIntegerField()
    status = models.CharField(max_length=8, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    loans = models.PositiveIntegerField(default=0)  # loans graded (tonight's candidates in the chunk)
    changed = models.PositiveIntegerField(default=0)  # of which tier, grade or provision changed
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("batch chunk")
        verbose_name_plural = _("batch chunks")
        ordering = ["lo"]
        constraints = [models.UniqueConstraint(fields=["run", "lo"], name="chunk_once")]


class DailySnapshot(models.Model):
    """The portfolio at the end of a day, aggregated by product, status, grade and tier (dashboards read this)."""

    as_of = models.DateField()
    product = models.ForeignKey("applications.Product", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=24)
    grade = models.CharField(max_length=16, blank=True)
    tier = models.CharField(max_length=2, blank=True)
    loans = models.PositiveIntegerField()
    balance = MoneyField(max_digits=18)
    overdue_balance = MoneyField(max_digits=18)
    provision = MoneyField(max_digits=18)

    class Meta:
        verbose_name = _("daily snapshot")
        verbose_name_plural = _("daily snapshots")
        constraints = [models.UniqueConstraint(fields=["as_of", "product", "status", "grade", "tier"], name="snapshot_cell")]
        indexes = [models.Index(fields=["as_of"], name="snapshot_day")]  # dashboard: one day's cells


class LoanMonthEnd(models.Model):
    """Each loan's grade and balance at a month end: the rows of the migration matrix (迁徙率)."""

    month_end = models.DateField()
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("applications.Product", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=24)
    grade = models.CharField(max_length=16, blank=True)
    balance = MoneyField()
    provision = MoneyField()
    # Restructured (an extension or a negotiated plan): the classification report counts these apart (SPEC §6, §12).
    restructured = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("loan month-end figure")
        verbose_name_plural = _("loan month-end figures")
        constraints = [models.UniqueConstraint(fields=["month_end", "loan"], name="month_end_once")]


class CollectionCase(models.Model):
    """A delinquent loan's collection case: opened when it falls overdue, closed when it is paid up (SPEC §6)."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="collection_cases")
    opened_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    tier = models.CharField(max_length=2)
    owner_post = models.CharField(max_length=16)  # T1 → marketing (the loan's officer), T2/T3 → general
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=pgettext_lazy("person responsible", "owner"))

    class Meta:
        verbose_name = _("collection case")
        verbose_name_plural = _("collection cases")
        ordering = ["-opened_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["loan"], condition=Q(closed_on__isnull=True), name="one_open_case_per_loan"),
        ]
        indexes = [models.Index(fields=["owner_post", "closed_on"], name="case_queue")]  # collection queues


class EscalationTask(models.Model):
    KINDS = [
        ("handover_t2", _("Hand over to the general post (over 30 days)")),
        ("insurance_claim", _("File the insurance claim")),
        ("legal_action", _("Take legal action")),
        ("guarantor_demand", _("Demand payment from the guarantor")),
    ]

    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="tasks")
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=KINDS)
    created_on = models.DateField()
    done_on = models.DateField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("escalation task")
        verbose_name_plural = _("escalation tasks")
        ordering = ["created_on", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "kind"], name="task_once_per_case")]


# ---------------------------------------------------------------------------------------------------------------
# Collections (合规催收), servicing requests (rules 18–20), write-off (rule 21) and manual grade changes (SPEC §6)


class CollectionAgency(models.Model):
    """The whitelist of outsourced collection agencies; only an active one may be used (SPEC §3, collections)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    licence_no = models.CharField(_("licence number"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    active = models.BooleanField(_("active (on the whitelist)"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("collection agency")
        verbose_name_plural = _("collection agencies")

    def __str__(self) -> str:
        return self.name


class CollectionAction(models.Model):
    """One logged collection contact: channel, time, whom, result, promise to pay."""

    CHANNELS = [("phone", _("Phone call")), ("sms", _("Text message")), ("visit", _("Visit")),
                ("letter", _("Letter")), ("agency", _("Outsourced agency"))]
    TARGETS = [("borrower", _("Borrower")), ("guarantor", _("Guarantor")), ("agency", _("Agency"))]

    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="actions")
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="collection_actions")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("channel"), max_length=8, choices=CHANNELS)
    contacted_at = models.DateTimeField(_("contacted at"))
    contact_day = models.DateField()  # local date of contacted_at: the "a day" of the unanswered-calls limit
    target = models.CharField(_("contacted"), max_length=10, choices=TARGETS)
    guarantor = models.ForeignKey("applications.Guarantor", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(CollectionAgency, null=True, blank=True, on_delete=models.PROTECT, related_name="actions")
    phone = models.CharField(_("phone number"), max_length=20, blank=True)
    answered = models.BooleanField(_("answered"), default=False)
    result = models.TextField(_("result"), blank=True)
    promise_date = models.DateField(_("promised payment date"), null=True, blank=True)
    promise_amount = MoneyField(_("promised amount"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("collection contact")
        verbose_name_plural = _("collection contacts")
        ordering = ["-contacted_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(promise_amount__isnull=True) | Q(promise_amount__gt=0),
                                   name="collection_promise_positive"),
        ]
        indexes = [
            # The unanswered-calls limit: calls to one number on one day.
            models.Index(fields=["phone", "contact_day"], name="collection_calls_per_day"),
            # Nightly signals (postloan.monitoring_batch): promises to pay dated tonight.
            models.Index(fields=["promise_date"], condition=Q(promise_date__isnull=False), name="collection_promise_due"),
        ]


class AgencyAssignment(models.Model):
    """A collection case handed to an outsourced agency from the whitelist, from ``assigned_on`` until it is recalled
    (SPEC §12 collections strategy). The agency's recoveries are the loan's payments received while it held the case:
    on or after ``assigned_on`` and before ``recalled_on`` (the recall day is the bank's again)."""

    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="assignments")
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="agency_assignments")
    agency = models.ForeignKey(CollectionAgency, on_delete=models.PROTECT, related_name="assignments",
                               verbose_name=_("agency"))
    assigned_on = models.DateField(_("assigned on"))
    until = models.DateField(_("agreed until"), null=True, blank=True)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # What the agency took over: the overdue amount (principal, interest, penalty) and the outstanding principal.
    overdue_at_assignment = MoneyField(_("overdue when assigned"))
    principal_at_assignment = MoneyField(_("outstanding principal when assigned"))
    note = models.TextField(_("note"), blank=True)
    recalled_on = models.DateField(_("recalled on"), null=True, blank=True)
    recalled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    recall_reason = models.TextField(_("reason for the recall"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-assigned_on", "-id"]
        constraints = [
            # One agency at a time on a loan.
            models.UniqueConstraint(fields=["loan"], condition=Q(recalled_on__isnull=True), name="one_open_assignment"),
            models.CheckConstraint(condition=Q(recalled_on__isnull=True) | Q(recalled_on__gte=models.F("assigned_on")),
                                   name="assignment_recalled_after"),
        ]
        # The monthly agency report: the assignments that overlap a month, per agency.
        indexes = [models.Index(fields=["agency", "assigned_on"], name="assignment_agency")]
        verbose_name = _("agency assignment")
        verbose_name_plural = _("agency assignments")

    def __str__(self) -> str:
        return f"{self.agency} {self.assigned_on}"


class DebtorAssessment(models.Model):
    """The collector's finding on why a debtor does not pay (SPEC §12 collections strategy): cannot pay (hardship —
    job loss, illness, business failure) or will not pay (able but refusing), with the evidence as a file of the loan's
    or the customer's folder. The latest one on a case stands; earlier ones are kept."""

    CANNOT_PAY, WILL_NOT_PAY = "cannot_pay", "will_not_pay"
    STANCES = [(CANNOT_PAY, _("Cannot pay")), (WILL_NOT_PAY, _("Will not pay"))]

    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="assessments")
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="debtor_assessments")
    stance = models.CharField(_("debtor"), max_length=12, choices=STANCES)
    evidence = models.ForeignKey("applications.DocumentFile", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("evidence"))
    note = models.TextField(_("what the evidence shows"))
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assessed_on = models.DateField(_("assessed on"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("debtor assessment")
        verbose_name_plural = _("debtor assessments")


class RepaymentAccount(models.Model):
    """The account a loan's installments are debited from; changed only through a reviewed request (rule 20)."""

    loan = models.OneToOneField(Loan, on_delete=models.CASCADE, related_name="repayment_account")
    account_no = models.CharField(_("account number"), max_length=34)
    bank = models.CharField(_("bank"), max_length=100, blank=True)
    since = models.DateField(_("since"))

    class Meta:
        verbose_name = _("repayment account")
        verbose_name_plural = _("repayment accounts")


class ServicingRequest(FSMModelMixin, models.Model):
    """A servicing request (rules 18–20): filed by one person, reviewed by a reviewer who is not the filer."""

    PREPAY_PARTIAL, PREPAY_FULL = "prepayment_partial", "prepayment_full"
    EXTENSION, ACCOUNT, BORROWER = "extension", "account_change", "borrower_change"
    PLAN = "repayment_plan"
    KINDS = [
        (PREPAY_PARTIAL, _("Partial prepayment")), (PREPAY_FULL, _("Full prepayment")), (EXTENSION, _("Extension")),
        (ACCOUNT, _("Change of repayment account")), (BORROWER, _("Change of borrower data")),
        (PLAN, _("Negotiated repayment plan (restructuring)")),
    ]
    PENDING, APPROVED, REJECTED, EXECUTED = "pending", "approved", "rejected", "executed"
    STATUSES = [(PENDING, _("Pending review")), (APPROVED, _("Approved")), (REJECTED, _("Rejected")),
                (EXECUTED, _("Executed"))]

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="servicing_requests")
    kind = models.CharField(_("kind"), max_length=20, choices=KINDS)
    status = StateField(_("status"), max_length=10, choices=STATUSES, default=PENDING, protected=True)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filed_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(_("reason"), blank=True)
    # Prepayment: the amount (partial) and the payment's date and reference.
    amount = MoneyField(_("amount"), null=True, blank=True)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    reference = models.CharField(_("payment reference"), max_length=64, blank=True)
    # Extension (展期): months and the guarantors' written consent.
    extension_months = models.PositiveIntegerField(_("extension (months)"), null=True, blank=True)
    guarantor_consent = models.BooleanField(_("guarantors' written consent received"), default=False)
    # Negotiated repayment plan (a restructuring, SPEC §12): the unpaid installments become ``plan_months`` monthly
    # installments of ``plan_method`` (postloan.servicing.plan_for).
    plan_months = models.PositiveIntegerField(_("plan installments (months)"), null=True, blank=True)
    plan_method = models.CharField(_("plan repayment method"), max_length=20, blank=True)
    # Account / borrower data: the new values, and the old ones kept when applied.
    new_value = models.JSONField(default=dict, blank=True)
    old_value = models.JSONField(default=dict, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)
    executed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    executed_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    # Optimistic concurrency (rule 22): bumped by a compare-and-swap on every edit (loancenter.lib.versioning).
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        verbose_name = _("servicing request")
        verbose_name_plural = _("servicing requests")
        ordering = ["-filed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "kind"], condition=Q(status="pending"), name="one_pending_request_per_kind"),
            models.CheckConstraint(condition=Q(amount__isnull=True) | Q(amount__gt=0), name="servicing_amount_positive"),
        ]
        indexes = [models.Index(fields=["status", "filed_at"], name="servicing_queue")]  # the reviewer's queue

    # Reviewed by someone other than the filer (postloan.servicing); a prepayment is executed when the money arrives,
    # other kinds apply when approved.
    @transition(field=status, source=PENDING, target=APPROVED)
    def approve(self):
        pass

    @transition(field=status, source=PENDING, target=REJECTED)
    def reject(self):
        pass

    @transition(field=status, source=APPROVED, target=EXECUTED)
    def execute(self):
        pass


class WriteOff(FSMModelMixin, models.Model):
    """核销 (rule 21): proposed with the legal documents, reviewed, approved by someone else again."""

    PROPOSED, REVIEWED, APPROVED, REJECTED, DONE = "proposed", "reviewed", "approved", "rejected", "done"
    STATUSES = [(PROPOSED, _("Proposed")), (REVIEWED, _("Reviewed")), (APPROVED, _("Approved")),
                (REJECTED, _("Rejected")), (DONE, _("Written off"))]
    LEGAL_DOCUMENTS = [
        ("court_judgment", _("Court judgment or ruling")),
        ("enforcement_terminated", _("Ruling terminating enforcement")),
        ("bankruptcy", _("Bankruptcy liquidation documents")),
        ("death_certificate", _("Death or disappearance certificate")),
        ("police_report", _("Police report")),
        ("collection_record", _("Record of collection efforts")),
        ("other", _("Other legal document")),
    ]

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="write_offs")
    status = StateField(_("status"), max_length=10, choices=STATUSES, default=PROPOSED, protected=True)
    reason = models.TextField(_("reason"))
    legal_documents = models.JSONField(_("legal documents"), default=list)
    principal = MoneyField(_("principal written off"))
    interest = MoneyField(_("interest written off"))
    penalty = MoneyField(_("penalty written off"))
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_note = models.TextField(blank=True)
    rejected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    rejected_at = models.DateTimeField(null=True, blank=True)
    written_off_on = models.DateField(null=True, blank=True)
    # Optimistic concurrency (rule 22): bumped by a compare-and-swap on every edit (loancenter.lib.versioning).
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        verbose_name = _("write-off")
        verbose_name_plural = _("write-offs")
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["loan"], condition=Q(status__in=["proposed", "reviewed", "approved", "done"]),
                                    name="one_live_write_off_per_loan"),
        ]

    @property
    def total(self):
        return self.principal + self.interest + self.penalty

    # Rule 21 (postloan.write_off): reviewed, then approved by someone else again; the loan's ``write_off`` transition
    # completes it. The reviewer turns down a proposal, the manager or approver a reviewed one.
    @transition(field=status, source=PROPOSED, target=REVIEWED)
    def review(self):
        pass

    @transition(field=status, source=REVIEWED, target=APPROVED)
    def approve(self):
        pass

    @transition(field=status, source=PROPOSED, target=REJECTED, permission=held_by(P.REVIEWER))
    @transition(field=status, source=REVIEWED, target=REJECTED, permission=held_by(P.MANAGER, P.APPROVER))
    def reject(self):
        pass

    @transition(field=status, source=APPROVED, target=DONE)
    def complete(self):
        pass


class WriteOffRecovery(models.Model):
    """Money recovered on a written-off loan: reported apart from repayments (rule 21)."""

    write_off = models.ForeignKey(WriteOff, on_delete=models.PROTECT, related_name="recoveries")
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="recoveries")
    amount = MoneyField(_("amount"))
    recovered_on = models.DateField(_("recovered on"))
    reference = models.CharField(_("reference"), max_length=64, unique=True)
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("recovery after write-off")
        verbose_name_plural = _("recoveries after write-off")
        ordering = ["recovered_on", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="recovery_positive")]


class GradeChange(FSMModelMixin, models.Model):
    """A manual five-level grade change (SPEC §6): worse applies at once with reasons; better needs a second person."""

    PENDING, APPLIED, REJECTED = "pending", "applied", "rejected"
    STATUSES = [(PENDING, _("Pending approval")), (APPLIED, _("Applied")), (REJECTED, _("Rejected"))]

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="grade_changes")
    from_grade = models.CharField(_("from grade"), max_length=16, choices=GRADE_CHOICES)
    to_grade = models.CharField(_("to grade"), max_length=16, choices=GRADE_CHOICES)
    reasons = models.TextField(_("reasons"))
    status = StateField(_("status"), max_length=10, choices=STATUSES, default=PENDING, protected=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    # Optimistic concurrency (rule 22): bumped by a compare-and-swap on every edit (loancenter.lib.versioning).
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        verbose_name = _("grade change")
        verbose_name_plural = _("grade changes")
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["loan"], condition=Q(status="pending"), name="one_pending_grade_change"),
        ]

    @property
    def upgrade(self) -> bool:
        return GRADES.index(self.to_grade) < GRADES.index(self.from_grade)

    # A downgrade applies at once; an upgrade waits for a second person (postloan.grades).
    @transition(field=status, source=PENDING, target=APPLIED)
    def apply(self):
        pass

    @transition(field=status, source=PENDING, target=REJECTED)
    def reject(self):
        pass


class WarningLevel(models.Model):
    """A warning level the manager sets on one dashboard figure (预警线). Never edited: each change is a new row, and
    the current level of a figure is its latest row, so the history of who set what and when stays."""

    ABOVE, BELOW = "above", "below"
    DIRECTIONS = [(ABOVE, _("Warn above")), (BELOW, _("Warn below"))]

    figure = models.CharField(_("figure"), max_length=32)
    threshold = models.DecimalField(_("threshold"), max_digits=9, decimal_places=6)
    direction = models.CharField(_("direction"), max_length=5, choices=DIRECTIONS)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("warning level")
        verbose_name_plural = _("warning levels")
        ordering = ["figure", "-set_at", "-id"]
        indexes = [models.Index(fields=["figure", "set_at"], name="warning_latest")]  # the current level per figure

    @property
    def threshold_text(self) -> str:
        return f"{self.threshold * 100:.2f}%"

    def breached(self, value) -> bool:
        if value is None:
            return False
        return value > self.threshold if self.direction == self.ABOVE else value < self.threshold


class WeeklyReport(models.Model):
    """A unit's weekly report (issue 16): the week's volumes, pass and refusal rates, the overdue and NPL rates and the
    roll rates, kept as PDF and Excel. One per unit and week; generated by Celery beat on Monday for the week before,
    regenerated on demand (the files are replaced)."""

    unit = models.ForeignKey("loancenter.Unit", on_delete=models.PROTECT, related_name="+")
    week_start = models.DateField()  # a Monday
    generated_at = models.DateTimeField()
    figures = models.JSONField(default=dict)
    pdf = models.BinaryField()
    xlsx = models.BinaryField()

    class Meta:
        verbose_name = _("weekly report")
        verbose_name_plural = _("weekly reports")
        ordering = ["-week_start", "unit_id"]
        constraints = [models.UniqueConstraint(fields=["unit", "week_start"], name="weekly_report_once")]


# After disbursement: monitoring and early warning (issue 18), in a module of their own.
from postloan.monitoring_models import (  # noqa: E402, F401
    CheckPlan,
    CollateralRevaluation,
    CreditQuery,
    FundUse,
    FundUseProof,
    LoanMonitoring,
    Notice,
    PostLoanCheck,
    Signal,
    SignalType,
)


class RateClock(models.Model):
    """SPEC §15: an LPR-linked loan's rate now and its next repricing date, set at disbursement and moved by the nightly
    batch (postloan.repricing). A narrow table of its own: a 1 January night moves every clock of the book, which on
    the loan rows would rewrite some twenty indexes per loan."""

    loan = models.OneToOneField(Loan, on_delete=models.CASCADE, primary_key=True, related_name="rate_clock")
    current_rate = models.DecimalField(_("current annual rate"), max_digits=7, decimal_places=6)
    next_repricing_on = models.DateField(_("next repricing on"), null=True, blank=True)

    class Meta:
        # The batch's repricing step: the clocks whose date has come, by loan id range (a chunk).
        indexes = [models.Index(fields=["next_repricing_on", "loan"], condition=Q(next_repricing_on__isnull=False),
                                name="rateclock_due")]
        verbose_name = _("rate clock")
        verbose_name_plural = _("rate clocks")


class Repricing(models.Model):
    """SPEC §15: an LPR-linked loan's repricing, written by the nightly batch (postloan.repricing), once per date."""

    # As the notices (postloan.monitoring_models.Notice): only the batch's SQL writes these, from the loans it
    # reprices, so no database key (its check locked every repriced loan's row, a million on a 1 January night) and
    # no index of its own (the unique ``repricing_once`` leads with the loan).
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="repricings", db_index=False,
                             db_constraint=False)
    repriced_on = models.DateField(_("repricing date"))
    batch_date = models.DateField(_("batch date"))
    lpr_published_on = models.DateField(_("LPR publication"))
    lpr = models.DecimalField(_("LPR"), max_digits=7, decimal_places=6)
    spread_bp = models.IntegerField(_("spread (basis points)"))
    old_rate = models.DecimalField(_("old rate"), max_digits=7, decimal_places=6)
    new_rate = models.DecimalField(_("new rate"), max_digits=7, decimal_places=6)
    installments = models.PositiveIntegerField(_("installments repriced"), default=0)
    first_number = models.PositiveIntegerField(_("first installment repriced"), null=True, blank=True)

    class Meta:
        ordering = ["-repriced_on", "-id"]
        verbose_name = _("repricing")
        verbose_name_plural = _("repricings")
        constraints = [
            # A date reprices a loan once, whatever the batch runs again (SPEC §6, idempotent).
            models.UniqueConstraint(fields=["loan", "repriced_on"], name="repricing_once"),
        ]
        # The loan page's and the notice's latest repricing; the batch's step reads the rows it wrote tonight.
        indexes = [models.Index(fields=["batch_date"], name="repricing_batch_date")]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.repriced_on} {self.old_rate}→{self.new_rate}"

