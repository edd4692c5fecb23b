from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from applications.models import MONEY, Loan


class Installment(models.Model):
    PENDING, PARTIAL, PAID, OVERDUE = "pending", "partially_paid", "paid", "overdue"
    STATUSES = [(PENDING, _("Pending")), (PARTIAL, _("Partially paid")), (PAID, _("Paid")), (OVERDUE, _("Overdue"))]

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="installments")
    number = models.PositiveIntegerField()
    due_date = models.DateField()
    principal = models.DecimalField(**MONEY)
    interest = models.DecimalField(**MONEY)
    paid_principal = models.DecimalField(**MONEY, default=0)
    paid_interest = models.DecimalField(**MONEY, default=0)
    penalty = models.DecimalField(_("penalty interest accrued"), **MONEY, default=0)
    paid_penalty = models.DecimalField(**MONEY, default=0)
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    paid_off_on = models.DateField(null=True, blank=True)
    # Penalty accrues daily unrounded; ``penalty`` is its value in cents. ``penalty_through`` makes the batch idempotent.
    penalty_accrued = models.DecimalField(max_digits=20, decimal_places=8, default=0)
    penalty_through = models.DateField(null=True, blank=True)

    class Meta:
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
            # Nightly batch and allocation: a loan's unpaid installments by due date.
            models.Index(fields=["loan", "paid_off_on", "due_date"], name="installment_unpaid"),
        ]

    @property
    def total_due(self):
        return (self.principal - self.paid_principal) + (self.interest - self.paid_interest) + (self.penalty - self.paid_penalty)


class Repayment(models.Model):
    """A payment received for a loan. The reference is unique: the same payment twice is applied once (SPEC §5)."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="repayments")
    reference = models.CharField(_("reference"), max_length=64, unique=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    paid_on = models.DateField(_("paid on"))
    to_penalty = models.DecimalField(**MONEY)
    to_interest = models.DecimalField(**MONEY)
    to_principal = models.DecimalField(**MONEY)
    allocation = models.JSONField(default=list)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["paid_on", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="repayment_positive")]


GRADES = ["normal", "special_mention", "substandard", "doubtful", "loss"]
GRADE_LABELS = {
    "normal": _("Normal"), "special_mention": _("Special mention"), "substandard": _("Substandard"),
    "doubtful": _("Doubtful"), "loss": _("Loss"),
}
GRADE_CHOICES = list(GRADE_LABELS.items())
TIERS = ["T1", "T2", "T3"]


class ProvisionRate(models.Model):
    """Loan-loss provision rate per grade (SPEC §6), configurable; defaults 1/2/25/50/100 %."""

    grade = models.CharField(max_length=16, choices=GRADE_CHOICES, unique=True)
    rate = models.DecimalField(max_digits=5, decimal_places=4)

    class Meta:
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

    class Meta:
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
    loans = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
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
    balance = models.DecimalField(max_digits=18, decimal_places=2)
    overdue_balance = models.DecimalField(max_digits=18, decimal_places=2)
    provision = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["as_of", "product", "status", "grade", "tier"], name="snapshot_cell")]
        indexes = [models.Index(fields=["as_of"], name="snapshot_day")]  # dashboard: one day's cells


class LoanMonthEnd(models.Model):
    """Each loan's grade and balance at a month end: the rows of the migration matrix (迁徙率)."""

    month_end = models.DateField()
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("applications.Product", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=24)
    grade = models.CharField(max_length=16, blank=True)
    balance = models.DecimalField(**MONEY)
    provision = models.DecimalField(**MONEY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month_end", "loan"], name="month_end_once")]


class CollectionCase(models.Model):
    """A delinquent loan's collection case: opened when it falls overdue, closed when it is paid up (SPEC §6)."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="collection_cases")
    opened_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    tier = models.CharField(max_length=2)
    owner_post = models.CharField(max_length=16)  # T1 → marketing (the loan's officer), T2/T3 → general
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
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
        ordering = ["created_on", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "kind"], name="task_once_per_case")]
