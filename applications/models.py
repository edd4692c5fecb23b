from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import RETURN_VALUE, FSMModelMixin, transition

from applications import rules
from applications.catalog import (
    CATEGORIES,
    COLLATERAL_KINDS,
    PURPOSES,
    RATE_TYPE_LABELS,
    RELATIONSHIPS,
    REPAYMENT_METHOD_LABELS,
    REPRICING_RULE_LABELS,
)
from loancenter import posts as P
from loancenter.lib.dates import age_on, book_date, days_past_due, today
from loancenter.lib.fsm import StateField
from loancenter.lib.idcard import mask_id_number, mask_phone, parse_id_number, validate_id_number, validate_phone
from loancenter.lib.identifiers import CERTIFICATE_NO, ID_NUMBER, PHONE, IdentifierField, normalise_id_number
from loancenter.lib.money import MoneyField
from loancenter.lib.regions import region_name, validate_region
from loancenter.models import CENTER_CODE, User
from loancenter.rules import held_by

MONEY = {"max_digits": 14, "decimal_places": 2}  # the money columns' digits; a model column is a MoneyField
POSITIVE_MONEY = [MinValueValidator(Decimal("0.01"))]
NON_NEGATIVE_MONEY = [MinValueValidator(Decimal("0.00"))]
RATE = {"max_digits": 7, "decimal_places": 6}
RATIO_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))]
RESIDENCE_CHOICES = [("own", _("Own home")), ("mortgage", _("Own home with a mortgage")), ("rent", _("Rented")),
                     ("other", _("Other"))]


def _officer_unit(officer_id) -> str:
    """The unit a new customer or loan belongs to: its marketing officer's (SPEC §13)."""
    unit = User.objects.filter(pk=officer_id).values_list("unit_id", flat=True).first()
    return unit or CENTER_CODE


class Industry(models.Model):
    """GB/T 4754 国民经济行业分类, its twenty sections A–T (SPEC §16.29), made by a data migration."""

    code = models.CharField(_("code"), max_length=1, primary_key=True)
    name = models.CharField(_("name"), max_length=60)

    class Meta:
        ordering = ["code"]
        verbose_name = _("industry")
        verbose_name_plural = _("industries")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Customer(models.Model):
    CAPACITY_FULL = "full"
    CAPACITY_CHOICES = [("full", _("Full")), ("limited", _("Limited")), ("none", _("None"))]

    name = models.CharField(_("name"), max_length=50)
    # Stored normalised (rule 25), so that uniqueness holds on the normal form (SPEC §16.10); phones are not unique.
    id_number = IdentifierField(_("ID number"), kind=ID_NUMBER, max_length=18, unique=True,
                                validators=[validate_id_number])
    phone = IdentifierField(_("phone"), kind=PHONE, max_length=11, validators=[validate_phone])
    address = models.CharField(_("address"), max_length=200, blank=True)
    employer = models.CharField(_("employer"), max_length=100, blank=True)
    occupation = models.CharField(_("occupation"), max_length=50, blank=True)
    monthly_income = MoneyField(_("monthly income"), validators=NON_NEGATIVE_MONEY)
    monthly_debt_payment = MoneyField(
        _("existing monthly debt payment"), default=Decimal("0.00"), validators=NON_NEGATIVE_MONEY
    )
    civil_capacity = models.CharField(_("civil capacity"), max_length=8, choices=CAPACITY_CHOICES, default="full")
    on_warning_list = models.BooleanField(_("on credit warning list"), default=False)
    birth_date = models.DateField(_("birth date"), editable=False)
    gender = models.CharField(_("gender"), max_length=1, choices=[("M", _("Male")), ("F", _("Female"))], editable=False)
    # The marketing officer who registered the customer; their data scope starts here (SPEC §4).
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="customers", verbose_name=_("officer")
    )
    # SPEC §13, §16.4, §16.29: the report dimensions, both optional (unknown is a value of its own). The region is a
    # GB/T 2260 code of the dated snapshot (loancenter.lib.regions); the industry a GB/T 4754 section.
    region = models.CharField(_("region"), max_length=6, blank=True, default="", validators=[validate_region])
    industry = models.ForeignKey(Industry, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("industry"))
    # SPEC §13: the customer belongs to the unit of their marketing officer (set on create; moved by a hand-over).
    unit = models.ForeignKey("loancenter.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"),
                             db_default=CENTER_CODE, blank=True)
    # SPEC §15, §16.4, §16.18: what the scorecard weighs for job stability and housing; unknown is a value of its own.
    employment_years = models.DecimalField(_("years in the current job"), max_digits=4, decimal_places=1, null=True,
                                           blank=True, validators=[MinValueValidator(Decimal("0")),
                                                                   MaxValueValidator(Decimal("80"))])
    residence = models.CharField(_("residence"), max_length=8, blank=True, default="", choices=RESIDENCE_CHOICES)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Optimistic concurrency (rule 22): bumped by a compare-and-swap on every edit (loancenter.lib.versioning).
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.CheckConstraint(condition=Q(monthly_income__gte=0), name="customer_income_non_negative"),
            models.CheckConstraint(condition=Q(monthly_debt_payment__gte=0), name="customer_debt_non_negative"),
            # The unique index holds on the normal form only if nothing else is stored (rule 25, SPEC §16.10).
            models.CheckConstraint(condition=Q(id_number__regex=r"^[0-9]{17}[0-9X]$"), name="customer_id_number_normalised"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not isinstance(self.unit_id, str):
            self.unit_id = _officer_unit(self.officer_id)
        self.id_number = normalise_id_number(self.id_number)
        info = parse_id_number(self.id_number)
        self.birth_date, self.gender = info.birth_date, info.gender
        super().save(*args, **kwargs)

    @property
    def age(self) -> int:
        return age_on(self.birth_date, today())

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def region_name(self) -> str:
        return region_name(self.region)


class CustomerMerge(FSMModelMixin, models.Model):
    """Two customer rows that are one person (the same ID number once normalised, rule 25), merged by four eyes.

    Filed by one staff member and approved by another (SPEC §16.10, ``applications.customer_merge``): on approval
    the merged row's loans, guarantees, archive folder and every other row that points to it move to the kept
    customer and the merged row is deleted; its values stay here and in the audit trail. Its table is created before
    the normalising migration, so that ``merge_customers`` can resolve the duplicates that migration stops on.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    kept = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+", verbose_name=_("kept customer"))
    merged_id = models.BigIntegerField(_("merged customer id"))  # not a key: that row is deleted on approval
    merged_values = models.JSONField(_("merged customer as it was"), default=dict)
    reason = models.TextField(_("reason"), validators=[MaxLengthValidator(2000)])
    status = StateField(_("status"), default=State.PENDING, choices=State.choices, protected=True)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("filed by"))
    filed_at = models.DateTimeField(_("filed at"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    moved = models.JSONField(_("rows moved"), default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        constraints = [
            # One open request per duplicate row.
            models.UniqueConstraint(fields=["merged_id"], condition=Q(status="pending"), name="one_pending_merge_per_row"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}: {self.merged_id} → {self.kept_id}"

    @transition(field=status, source=State.PENDING, target=State.APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=status, source=State.PENDING, target=State.REJECTED)
    def reject(self) -> None:
        pass


class Product(models.Model):
    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    category = models.CharField(_("category"), max_length=16, choices=list(CATEGORIES.items()))
    min_amount = MoneyField(_("minimum amount"), validators=POSITIVE_MONEY)
    max_amount = MoneyField(_("maximum amount"), validators=POSITIVE_MONEY)
    min_term_months = models.PositiveIntegerField(_("minimum term (months)"), validators=[MinValueValidator(1)])
    max_term_months = models.PositiveIntegerField(_("maximum term (months)"), validators=[MinValueValidator(1)])
    repayment_methods = models.JSONField(_("repayment methods"), default=list)
    min_rate = models.DecimalField(_("minimum annual rate"), **RATE, validators=RATIO_VALIDATORS)
    max_rate = models.DecimalField(_("maximum annual rate"), **RATE, validators=RATIO_VALIDATORS)
    secured = models.BooleanField(_("secured"), default=False)
    max_ltv = models.DecimalField(_("maximum loan-to-value"), max_digits=5, decimal_places=4, null=True, blank=True,
                                  validators=RATIO_VALIDATORS)
    max_dti = models.DecimalField(_("maximum debt-to-income"), max_digits=5, decimal_places=4, validators=RATIO_VALIDATORS)
    dual_investigation = models.BooleanField(_("two investigators required"), default=False)
    investigation_rate = models.DecimalField(_("field-visit sampling rate"), max_digits=5, decimal_places=4,
                                             default=Decimal("1"), validators=RATIO_VALIDATORS)
    max_age_at_maturity = models.PositiveIntegerField(_("maximum age at maturity"), default=65)
    penalty_markup = models.DecimalField(_("penalty markup"), max_digits=5, decimal_places=4, default=Decimal("0.5"),
                                         validators=[MinValueValidator(Decimal("0"))])
    required_documents = models.JSONField(_("required documents"), default=list, blank=True)
    allowed_purposes = models.JSONField(_("allowed purposes"), default=list, blank=True,
                                        help_text=_("Empty: any purpose that is not prohibited."))
    appraisal_validity_days = models.PositiveIntegerField(_("appraisal validity (days)"), default=180)
    # SPEC §15: a fixed rate, or the 1-year / 5-year LPR plus a spread in basis points kept on each loan.
    rate_type = models.CharField(_("rate type"), max_length=8, choices=list(RATE_TYPE_LABELS.items()), default="fixed")
    # "在售" is a product's word; plain "active" is also Django's own (a user's is_active): its own context.
    active = models.BooleanField(pgettext_lazy("product", "active"), default=True)
    # Optimistic concurrency (rule 22): bumped by a compare-and-swap on every edit (loancenter.lib.versioning).
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(condition=Q(min_amount__gt=0) & Q(max_amount__gte=models.F("min_amount")),
                                   name="product_amount_range"),
            models.CheckConstraint(condition=Q(max_term_months__gte=models.F("min_term_months")),
                                   name="product_term_range"),
            models.CheckConstraint(condition=Q(max_rate__gte=models.F("min_rate")), name="product_rate_range"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    INVESTIGATING = "investigating", _("Investigating")
    UNDER_REVIEW = "under_review", _("Under review")
    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    PENDING_BRANCH_APPROVAL = "pending_branch_approval", _("Pending branch approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CONTRACT_SIGNED = "contract_signed", _("Contract signed")
    COLLATERAL_REGISTERED = "collateral_registered", _("Collateral registered")
    READY_TO_DISBURSE = "ready_to_disburse", _("Ready to disburse")
    ACTIVE = "active", _("Active")
    SETTLED = "settled", _("Settled")
    WRITTEN_OFF = "written_off", _("Written off")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# How far along the lifecycle a state is; a post sees a loan once it has reached the post's step (SPEC §4).
STAGE = {
    Status.DRAFT: 0, Status.SUBMITTED: 1, Status.INVESTIGATING: 2, Status.UNDER_REVIEW: 3,
    Status.PENDING_APPROVAL: 4, Status.PENDING_BRANCH_APPROVAL: 5, Status.APPROVED: 6, Status.REJECTED: 6,
    Status.CONTRACT_SIGNED: 7, Status.COLLATERAL_REGISTERED: 8, Status.READY_TO_DISBURSE: 9, Status.ACTIVE: 10,
    Status.SETTLED: 11, Status.WRITTEN_OFF: 11, Status.WITHDRAWN: 0,
}
BEFORE_ACTIVE = [
    Status.DRAFT, Status.SUBMITTED, Status.INVESTIGATING, Status.UNDER_REVIEW, Status.PENDING_APPROVAL,
    Status.PENDING_BRANCH_APPROVAL, Status.APPROVED, Status.CONTRACT_SIGNED, Status.COLLATERAL_REGISTERED,
    Status.READY_TO_DISBURSE,
]


def _step(label, service: str, *, input: str = "EmptyInput", sod_role: str | tuple[str, ...] | None = None,
          owner_only: bool = False, danger: bool = False, assigned=None, queue=False, forward: bool = False,
          refusal=None) -> dict:
    """The ``custom`` of a loan transition (django-fsm), read by applications.workflow:

    - ``label``: the button's and the audit trail's name; ``danger``: a red button;
    - ``service``: the dotted path of the service that performs it; ``input``: the name of its input serializer in
      loancenter.transitions (the transition registry reads both);
    - ``sod_role``: the separation-of-duty role(s) the actor takes on the loan (applications.rules.CONFLICTS);
    - ``owner_only``: only the loan's own marketing officer (or a manager, where the posts name one);
    - ``assigned``: ``(loan, user)`` refuses (403 ``not_assigned``) a holder of the post the step is not given to;
    - ``queue``: loans in the source state wait in the posts' work queue — ``True``, or ``(user) -> Q`` for the
      loans among them that wait for this user (owner-only steps: the user's own loans);
    - ``forward``: a step of the happy path (the tests walk it);
    - ``refusal``: ``(loan) -> message`` when the state allows it but its ``conditions`` do not.
    """
    return {"label": label, "service": service, "input": input, "sod_role": sod_role, "owner_only": owner_only,
            "danger": danger, "assigned": assigned, "queue": queue, "forward": forward, "refusal": refusal}


# Work-queue conditions of transitions (``custom["queue"]``): which loans in the state wait for ``user``.
def _own_open_rounds(user) -> Q:
    """The investigator's own rounds, unless the report waits for the second investigator (rule 26)."""
    mine = Investigation.objects.filter(assignee=user, reported_at__isnull=True, completed_at__isnull=True)
    return Q(pk__in=mine.values("loan_id"))


def _reports_to_cosign(user) -> Q:
    """Reports waiting for this investigator's co-signature (rule 26)."""
    waiting = Investigation.objects.filter(cosigner=user, reported_at__isnull=False, completed_at__isnull=True)
    return Q(pk__in=waiting.values("loan_id"))


def _secured(user) -> Q:
    """Secured loans only."""
    return Q(product__secured=True)


def _unsecured(user) -> Q:
    """Unsecured loans only."""
    return Q(product__secured=False)


class Loan(FSMModelMixin, models.Model):
    application_no = models.CharField(_("application number"), max_length=20, unique=True, null=True, blank=True)
    # Indexed with the status (Meta.indexes, loan_customer_status), which serves the lookups by customer alone too.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="loans", verbose_name=_("customer"),
                                 db_index=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="loans", verbose_name=_("product"))
    marketing_officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="marketed_loans",
                                          verbose_name=_("marketing officer"))
    # Who entered the application (issue 16, officer accountability): the first marketing officer, kept when a
    # hand-over gives the loan to another.
    originator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("originated by"))
    # SPEC §13, §16.26: the marketing officer's unit, fixed at creation; it moves only by a hand-over.
    unit = models.ForeignKey("loancenter.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"),
                             db_default=CENTER_CODE, blank=True)
    amount = MoneyField(_("amount"), validators=POSITIVE_MONEY)
    term_months = models.PositiveIntegerField(_("term (months)"), validators=[MinValueValidator(1)])
    repayment_method = models.CharField(_("repayment method"), max_length=20, choices=list(REPAYMENT_METHOD_LABELS.items()))
    purpose = models.CharField(_("purpose"), max_length=32, choices=list(PURPOSES.items()))
    purpose_detail = models.CharField(_("purpose details"), max_length=200, blank=True)
    long_term_reason = models.CharField(_("reason for a business term over 60 months"), max_length=200, blank=True)
    interviewed_on = models.DateField(_("face-to-face interview on"), null=True, blank=True)
    credit_authorised = models.BooleanField(_("written credit-report authorisation received"), default=False)

    status = StateField(_("status"), default=Status.DRAFT, choices=Status.choices, protected=True)
    stage_reached = models.PositiveSmallIntegerField(_("stage reached"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # Optimistic concurrency (rule 22): the application as its edit form and PATCH change it (fields and rows).
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    # Review (审查): the reviewer's proposal.
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("reviewer"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_opinion = models.TextField(_("review opinion"), blank=True)
    proposed_amount = MoneyField(_("proposed amount"), null=True, blank=True)
    proposed_term_months = models.PositiveIntegerField(_("proposed term (months)"), null=True, blank=True)
    proposed_rate = models.DecimalField(_("proposed rate"), **RATE, null=True, blank=True)
    proposed_method = models.CharField(_("proposed repayment method"), max_length=20, blank=True)
    proposed_spread_bp = models.IntegerField(_("proposed spread (bp)"), null=True, blank=True)  # LPR-linked products (SPEC §15)

    # Approval (审批): the decided terms.
    escalated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("escalated by"))
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("approver"))
    approved_amount = MoneyField(_("approved amount"), null=True, blank=True)
    approved_term_months = models.PositiveIntegerField(_("approved term (months)"), null=True, blank=True)
    annual_rate = models.DecimalField(_("annual rate"), **RATE, null=True, blank=True)
    approved_method = models.CharField(_("approved repayment method"), max_length=20, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    customer_notified_on = models.DateField(_("customer notified on"), null=True, blank=True)
    # Rule 31: the approval's reasons and the guarantee terms it was given on (the reviewed guarantors and collaterals
    # with the approver's conditions); the rejection's reasons too.
    decision_reason = models.TextField(_("reasons for the decision"), blank=True)
    approved_guarantee = models.JSONField(_("guarantee terms approved"), default=dict, blank=True)
    # Rule 29: the terms kept at approval (applications.terms.LoanTerms): with approved_amount, approved_term_months,
    # annual_rate and approved_method, the rate type and the product's penalty markup as they were on that day. Every
    # money calculation after approval reads these, never the product.
    rate_type = models.CharField(_("rate type"), max_length=16, blank=True, default="")
    penalty_markup = models.DecimalField(_("penalty markup"), max_digits=5, decimal_places=4, null=True, blank=True)
    # SPEC §15, §16.31: LPR-linked loans keep the spread (basis points, may be negative) and the LPR in force at the
    # approval (its publication date); the contract chooses when the loan reprices. The rate now and the next
    # repricing date live beside the loan (postloan.models.RateClock), so that a repricing night never rewrites loan
    # rows (each carries some twenty indexes).
    spread_bp = models.IntegerField(_("spread (basis points)"), null=True, blank=True)
    lpr_at_approval = models.DecimalField(_("LPR at approval"), **RATE, null=True, blank=True)
    lpr_published_on = models.DateField(_("LPR publication used"), null=True, blank=True)
    repricing_rule = models.CharField(_("repricing date"), max_length=12, blank=True, default="",
                                      choices=list(REPRICING_RULE_LABELS.items()))
    # Rule 27: the customer's exposure the decision was measured on (live until then: selectors.customer_exposure).
    exposure = MoneyField(_("exposure at decision"), null=True, blank=True)

    # Rule 23 (SPEC §16.11): the borrower's facts as the investigation verified them; review and approval read these,
    # never the live customer row. Dropped when the loan is returned to marketing (the investigation is done again).
    verified_at = models.DateTimeField(_("facts verified at"), null=True, blank=True)
    verified_monthly_income = MoneyField(_("verified monthly income"), null=True, blank=True)
    verified_monthly_debt = MoneyField(_("verified monthly debt payment"), null=True, blank=True)
    verified_id_number = models.CharField(_("verified ID number"), max_length=18, blank=True, default="")
    verified_birth_date = models.DateField(_("verified birth date"), null=True, blank=True)
    verified_civil_capacity = models.CharField(_("verified civil capacity"), max_length=8, blank=True, default="")

    # SPEC §15, §16.30: the risk rating computed when the investigation completed, from the verified facts and the
    # latest pre-loan credit report, with the scorecard version it was computed on, the facts it read and the three
    # factors that cost the most points. Dropped with the verified facts when the loan is returned to marketing.
    score = models.IntegerField(_("score"), null=True, blank=True)
    rating = models.CharField(_("risk rating"), max_length=1, blank=True, default="")
    rating_reasons = models.JSONField(_("rating reasons"), default=list, blank=True)
    rating_facts = models.JSONField(_("facts the rating read"), default=dict, blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    scorecard_version = models.ForeignKey("applications.ScorecardVersion", null=True, blank=True,
                                          on_delete=models.PROTECT, related_name="rated_loans",
                                          verbose_name=_("scorecard version"))

    # After disbursement: kept current by repayments and the nightly batch (set-based, SPEC §6). Days past due are
    # not stored: they follow from ``oldest_unpaid_due`` and a date (postloan.book); tier, grade and provision are
    # stored and change only when the batch finds the loan crossed a threshold or waiting in PendingRegrade.
    outstanding_principal = MoneyField(_("outstanding principal"), default=Decimal("0.00"))
    collection_tier = models.CharField(_("collection tier"), max_length=2, blank=True, default="")
    grade = models.CharField(_("five-level grade"), max_length=16, blank=True, default="")
    restructured = models.BooleanField(_("restructured"), default=False)
    # The oldest unpaid due date, kept by the schedule and repayments so the batch needs no installment scan.
    oldest_unpaid_due = models.DateField(_("oldest unpaid due date"), null=True, blank=True)
    provision = MoneyField(_("loan-loss provision"), default=Decimal("0.00"))
    restructured_on = models.DateField(_("restructured on"), null=True, blank=True)
    observation_until = models.DateField(_("restructuring observation until"), null=True, blank=True)
    npl_cure_start = models.DateField(_("non-performing cure started on"), null=True, blank=True)  # arrears of a non-performing loan repaid on
    manual_grade = models.CharField(_("manual grade floor"), max_length=16, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        indexes = [
            # Work queues: loans in one state, oldest first.
            models.Index(fields=["status", "status_changed_at"], name="loan_queue"),
            # A customer's loans in some states: their exposure and other installments (rule 27), what freezes their
            # facts (rule 23), their page.
            models.Index(fields=["customer", "status"], name="loan_customer_status"),
            # Dashboard: decisions whose customer notification is late (rule 12).
            models.Index(fields=["customer_notified_on", "decided_at"], name="loan_notice_due"),
            # Collection queues and drill-downs: active loans by tier / grade.
            models.Index(fields=["status", "collection_tier"], name="loan_tier"),
            models.Index(fields=["status", "grade"], name="loan_grade"),
            # Dashboard: approval and rejection rates over the loans decided in a date range.
            models.Index(fields=["decided_at"], name="loan_decided_at"),
            # Marketing officer's work queue: their loans in a state, oldest first (applications.selectors.work_queue).
            models.Index(fields=["marketing_officer", "status", "status_changed_at", "id"], name="loan_officer_queue"),
            # ... and a page of it in the order shown (migrations 0008: created in SQL, 0010: recorded here).
            models.Index(fields=["marketing_officer", "status_changed_at", "id"],
                         condition=Q(status__in=["draft", "approved"]), name="loan_officer_open_queue"),
            # Nightly batch: loans whose days past due cross a threshold tonight (a due-date window); restructured
            # loans (their observation period); non-performing loans whose cure clock runs.
            models.Index(fields=["oldest_unpaid_due", "id"], condition=Q(status="active"), name="loan_unpaid_due"),
            models.Index(fields=["id"], condition=Q(restructured_on__isnull=False), name="loan_restructured"),
            models.Index(fields=["npl_cure_start"], condition=Q(npl_cure_start__isnull=False), name="loan_npl_cure"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="loan_amount_positive"),
            models.CheckConstraint(condition=Q(term_months__gt=0), name="loan_term_positive"),
        ]

    def __str__(self) -> str:
        return self.application_no or f"#{self.pk}"

    # What the nightly grading reads: a save of an active loan that changes any of these queues it for the next run.
    GRADING_INPUTS = frozenset({"status", "outstanding_principal", "oldest_unpaid_due", "restructured_on",
                                "observation_until", "npl_cure_start", "manual_grade", "grade", "provision"})

    # What an on-time payment of a performing loan changes: the service keeps the provision at the (normal) grade.
    PAYMENT_FIELDS = frozenset({"outstanding_principal", "provision", "oldest_unpaid_due"})

    def save(self, *args, **kwargs):
        if not isinstance(self.unit_id, str):
            self.unit_id = _officer_unit(self.marketing_officer_id)
        if self.originator_id is None and self.pk is None:
            self.originator_id = self.marketing_officer_id
        super().save(*args, **kwargs)
        update_fields = kwargs.get("update_fields")
        if self.status != Status.ACTIVE or (update_fields is not None and not self.GRADING_INPUTS & set(update_fields)):
            return
        if update_fields is not None and set(update_fields) <= self.PAYMENT_FIELDS and self._performing_and_current():
            return  # the night would find it 正常, untiered, its provision as the payment left it: nothing to grade
        PendingRegrade.objects.bulk_create([PendingRegrade(loan_id=self.pk)], ignore_conflicts=True)

    def _performing_and_current(self) -> bool:
        return (self.collection_tier == "" and self.grade == "normal" and not self.manual_grade
                and self.restructured_on is None and self.npl_cure_start is None
                and (self.oldest_unpaid_due is None or self.oldest_unpaid_due >= today()))

    @property
    def regrade_pending(self) -> bool:
        return PendingRegrade.objects.filter(loan_id=self.pk).exists()

    @property
    def days_past_due(self) -> int:
        """Days past due as of the book date (the latest finished nightly run)."""
        if self.oldest_unpaid_due is None or self.status not in (Status.ACTIVE, Status.WRITTEN_OFF):
            return 0
        return self.days_past_due_on(book_date())

    def days_past_due_on(self, day) -> int:
        return days_past_due(self.oldest_unpaid_due, day)

    @property
    def terms(self):
        """The terms kept at approval (rule 29), or None before it."""
        from applications.terms import kept_terms

        return kept_terms(self)

    @property
    def lpr_linked(self) -> bool:
        """SPEC §15: priced on the LPR (kept at approval; the product's pricing before it)."""
        from applications.catalog import LPR_RATE_TYPES

        return (self.rate_type or self.product.rate_type) in LPR_RATE_TYPES

    @property
    def current_rate(self) -> Decimal | None:
        """The rate in force now: an LPR-linked loan's as last repriced (postloan.models.RateClock), else the kept one."""
        clock = getattr(self, "rate_clock", None) if self.lpr_linked else None
        return clock.current_rate if clock is not None else self.annual_rate

    @property
    def next_repricing_on(self):
        clock = getattr(self, "rate_clock", None) if self.lpr_linked else None
        return clock.next_repricing_on if clock is not None else None

    @property
    def rate_type_label(self) -> str:
        return str(RATE_TYPE_LABELS.get(self.rate_type or self.product.rate_type, ""))

    @property
    def spread_words(self) -> str:
        """"LPR 加 35 个基点" / "LPR 减 20 个基点", as the loan's papers and page state the spread."""
        from applications.lpr.rules import spread_words

        return spread_words(self.spread_bp)

    # The transitions change only the state and its bookkeeping; services do the rest (STYLE.md).
    def _moved(self) -> None:
        self.status_changed_at = timezone.now()
        self.stage_reached = max(self.stage_reached, STAGE[self.status])

    @cached_property
    def current_investigation(self) -> Investigation | None:
        """The latest investigation round (a loan returned to marketing and submitted again gets a new one).

        Read once per instance: the transitions' conditions and the assignment checks all ask it.
        """
        return self.investigations.first()

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        self.__dict__.pop("current_investigation", None)  # forgotten with the row, as Django forgets related objects

    # The lifecycle (SPEC §2), declared once: each transition says who may perform it (``permission``: the posts),
    # from where (``source``, ``conditions``) and, in ``custom`` (``_step``), its label, the separation-of-duty role
    # its actor takes, its service and input, and whether loans in its source state wait in the posts' work queue.
    # The registry, the work queues, the buttons, ``available_transitions``, the README diagram and the tests' paths
    # are read from here (applications.workflow); ``run_transition`` runs them.
    @transition(field=status, source=Status.DRAFT, target=Status.SUBMITTED, permission=held_by(P.MARKETING),
                custom=_step(_("Submit"), "applications.services.loan_submit", sod_role=rules.MARKETING,
                             owner_only=True, queue=True, forward=True))
    def submit(self):
        pass

    @transition(field=status, source=Status.SUBMITTED, target=Status.INVESTIGATING, permission=held_by(P.INVESTIGATOR),
                custom=_step(_("Start investigation"), "applications.services.loan_start_investigation",
                             sod_role=rules.INVESTIGATOR, queue=True, forward=True))
    def start_investigation(self):
        pass

    # Rule 26: on a two-person product the first investigator's report waits, the loan still investigating, for the
    # second investigator's co-signature; agreeing sends it to review, disagreeing returns it to the first.
    @transition(field=status, source=Status.INVESTIGATING,
                target=RETURN_VALUE(Status.UNDER_REVIEW, Status.INVESTIGATING),
                conditions=[rules.report_not_filed], permission=held_by(P.INVESTIGATOR),
                custom=_step(_("Complete investigation"), "applications.services.loan_complete_investigation",
                             input="CompleteInvestigationInput", sod_role=rules.INVESTIGATOR,
                             assigned=rules.check_investigation_assignee, queue=_own_open_rounds, forward=True,
                             refusal=rules.report_filed_refusal))
    def complete_investigation(self):
        return Status.INVESTIGATING if self.product.dual_investigation else Status.UNDER_REVIEW

    @transition(field=status, source=Status.INVESTIGATING,
                target=RETURN_VALUE(Status.UNDER_REVIEW, Status.INVESTIGATING),
                conditions=[rules.report_awaits_cosignature], permission=held_by(P.INVESTIGATOR),
                custom=_step(_("Co-sign investigation"), "applications.services.loan_cosign_investigation",
                             input="CosignInvestigationInput", sod_role=rules.INVESTIGATOR,
                             assigned=rules.check_cosigner, queue=_reports_to_cosign,
                             refusal=rules.no_report_to_cosign_refusal))
    def cosign_investigation(self, *, agree: bool):
        return Status.UNDER_REVIEW if agree else Status.INVESTIGATING

    @transition(field=status, source=Status.UNDER_REVIEW, target=Status.PENDING_APPROVAL, permission=held_by(P.REVIEWER),
                custom=_step(_("Pass review"), "review.services.loan_pass_review", input="PassReviewInput",
                             sod_role=rules.REVIEWER, queue=True, forward=True))
    def pass_review(self):
        pass

    @transition(field=status, source=Status.UNDER_REVIEW, target=Status.DRAFT, permission=held_by(P.REVIEWER),
                custom=_step(_("Return to marketing"), "review.services.loan_return_to_marketing", input="ReasonInput",
                             sod_role=rules.REVIEWER, danger=True, queue=True))
    def return_to_marketing(self):
        pass

    # Escalated loans are decided by the branch (SPEC §2); a decision at branch level also makes its maker the
    # branch-level decision maker, whom rules.CONFLICTS keeps apart from the approver who escalated (SPEC §10).
    @transition(field=status, source=Status.PENDING_APPROVAL, target=Status.APPROVED, permission=held_by(P.APPROVER),
                custom=_step(_("Approve"), "review.services.loan_approve", input="ApproveInput",
                             sod_role=rules.APPROVER, queue=True, forward=True))
    @transition(field=status, source=Status.PENDING_BRANCH_APPROVAL, target=Status.APPROVED,
                permission=held_by(P.BRANCH_APPROVER),
                custom=_step(_("Approve"), "review.services.loan_approve", input="ApproveInput",
                             sod_role=(rules.APPROVER, rules.BRANCH_APPROVER), queue=True))
    def approve(self):
        pass

    @transition(field=status, source=Status.PENDING_APPROVAL, target=Status.REJECTED, permission=held_by(P.APPROVER),
                custom=_step(_("Reject"), "review.services.loan_reject", input="ReasonInput",
                             sod_role=rules.APPROVER, danger=True, queue=True))
    @transition(field=status, source=Status.PENDING_BRANCH_APPROVAL, target=Status.REJECTED,
                permission=held_by(P.BRANCH_APPROVER),
                custom=_step(_("Reject"), "review.services.loan_reject", input="ReasonInput",
                             sod_role=(rules.APPROVER, rules.BRANCH_APPROVER), danger=True, queue=True))
    def reject(self):
        pass

    @transition(field=status, source=Status.PENDING_APPROVAL, target=Status.UNDER_REVIEW, permission=held_by(P.APPROVER),
                custom=_step(_("Return to review"), "review.services.loan_return_to_review", input="ReasonInput",
                             sod_role=rules.APPROVER, danger=True, queue=True))
    def return_to_review(self):
        pass

    @transition(field=status, source=Status.PENDING_APPROVAL, target=Status.PENDING_BRANCH_APPROVAL,
                permission=held_by(P.APPROVER),
                custom=_step(_("Escalate to branch"), "review.services.loan_escalate", input="ReasonInput",
                             sod_role=rules.APPROVER, queue=True))
    def escalate(self):
        pass

    @transition(field=status, source=Status.APPROVED, target=Status.CONTRACT_SIGNED, permission=held_by(P.MARKETING),
                custom=_step(_("Record contract signing"), "disbursement.services.loan_sign_contract",
                             input="SignContractInput", sod_role=rules.MARKETING, owner_only=True, queue=True,
                             forward=True))
    def sign_contract(self):
        pass

    @transition(field=status, source=Status.CONTRACT_SIGNED, target=Status.COLLATERAL_REGISTERED,
                permission=held_by(P.MORTGAGE_CLERK),
                custom=_step(_("Register collateral"), "disbursement.services.loan_register_collateral",
                             input="RegisterCollateralInput", sod_role=rules.REGISTRAR, queue=_secured,
                             forward=True))
    def register_collateral(self):
        pass

    # An unsecured loan's receipt follows the contracts; a secured loan's waits for the registration (rule 14).
    @transition(field=status, source=Status.CONTRACT_SIGNED, target=Status.READY_TO_DISBURSE,
                permission=held_by(P.REVIEWER),
                custom=_step(_("Prepare loan receipt"), "disbursement.services.loan_prepare_receipt",
                             input="PrepareReceiptInput", sod_role=(rules.REVIEWER, rules.RECEIPT_PREPARER),
                             queue=_unsecured, forward=True))
    @transition(field=status, source=Status.COLLATERAL_REGISTERED, target=Status.READY_TO_DISBURSE,
                permission=held_by(P.REVIEWER),
                custom=_step(_("Prepare loan receipt"), "disbursement.services.loan_prepare_receipt",
                             input="PrepareReceiptInput", sod_role=(rules.REVIEWER, rules.RECEIPT_PREPARER),
                             queue=True, forward=True))
    def prepare_receipt(self):
        pass

    @transition(field=status, source=Status.READY_TO_DISBURSE, target=Status.ACTIVE, permission=held_by(P.DISBURSEMENT),
                custom=_step(_("Disburse"), "disbursement.services.loan_disburse", input="DisburseInput",
                             sod_role=rules.DISBURSER, queue=True, forward=True))
    def disburse(self):
        pass

    @transition(field=status, source=Status.ACTIVE, target=Status.SETTLED, permission=held_by(P.GENERAL, P.DISBURSEMENT),
                custom=_step(_("Settle"), "postloan.services.loan_settle"))
    def settle(self):
        pass

    # Needs a write-off approved by another person first (rule 21: postloan.models.WriteOff).
    @transition(field=status, source=Status.ACTIVE, target=Status.WRITTEN_OFF, permission=held_by(P.GENERAL),
                custom=_step(_("Write off"), "postloan.write_off.loan_write_off", input="ReasonInput", danger=True))
    def write_off(self):
        pass

    @transition(field=status, source=BEFORE_ACTIVE, target=Status.WITHDRAWN, permission=held_by(P.MARKETING, P.MANAGER),
                custom=_step(_("Withdraw"), "applications.services.loan_withdraw", input="ReasonInput",
                             owner_only=True, danger=True))
    def withdraw(self):
        pass

    @property
    def effective_amount(self) -> Decimal:
        return self.approved_amount or self.proposed_amount or self.amount

    @property
    def effective_term(self) -> int:
        return self.approved_term_months or self.proposed_term_months or self.term_months


class PendingRegrade(models.Model):
    """An active loan whose grading inputs changed since the last nightly run (a payment, a prepayment, an extension,
    a manual grade, disbursement): Loan.save() adds it, the nightly batch grades the loan and takes it off. A queue
    of its own, so that neither flagging nor clearing rewrites the loan row."""

    loan = models.OneToOneField(Loan, primary_key=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("pending regrade")
        verbose_name_plural = _("pending regrades")


class Guarantor(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="guarantors", verbose_name=_("loan"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="guarantees", verbose_name=_("guarantor"))
    relationship = models.CharField(_("relationship"), max_length=20, choices=list(RELATIONSHIPS.items()))
    # Rule 23: the guarantor's income as the investigation verified it (rule 10 at review and approval reads it).
    verified_monthly_income = MoneyField(_("verified monthly income"), null=True, blank=True)

    class Meta:
        verbose_name = _("guarantor")
        verbose_name_plural = _("guarantors")
        constraints = [models.UniqueConstraint(fields=["loan", "customer"], name="guarantor_once_per_loan")]


class Collateral(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="collaterals", verbose_name=_("loan"))
    kind = models.CharField(_("kind"), max_length=16, choices=list(COLLATERAL_KINDS.items()))
    description = models.CharField(_("description"), max_length=200)
    owner_name = models.CharField(_("owner"), max_length=50)
    # Normalised (rule 25); one certificate backs one live loan (rule 28, ``applications.certificates.check_certificates_free``).
    certificate_no = IdentifierField(_("ownership certificate number"), kind=CERTIFICATE_NO, max_length=50, blank=True)
    appraised_value = MoneyField(_("appraised value"), validators=POSITIVE_MONEY)
    appraised_on = models.DateField(_("appraised on"))
    disposer_consent = models.BooleanField(_("consent of all with a right to dispose recorded"), default=False)
    # Optimistic concurrency (rule 22): bumped by a compare-and-swap on every edit (loancenter.lib.versioning).
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    # Rule 23: the appraisal as the investigation verified it (rule 9 at review and approval reads it).
    verified_appraised_value = MoneyField(_("verified appraised value"), null=True, blank=True)
    verified_appraised_on = models.DateField(_("verified appraisal date"), null=True, blank=True)

    class Meta:
        verbose_name = _("collateral")
        verbose_name_plural = _("collaterals")
        constraints = [models.CheckConstraint(condition=Q(appraised_value__gt=0), name="collateral_value_positive")]
        indexes = [
            # Rule 28: the other loans a certificate backs (check_certificates_free).
            models.Index(fields=["certificate_no"], name="collateral_certificate"),
        ]


class LoanDocument(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="documents", verbose_name=_("loan"))
    code = models.CharField(_("document"), max_length=32)
    received_on = models.DateField(_("received on"), default=today)

    class Meta:
        verbose_name = _("paper document received")
        verbose_name_plural = _("paper documents received")
        constraints = [models.UniqueConstraint(fields=["loan", "code"], name="document_once_per_loan")]


class Investigation(models.Model):
    """One investigation round of a loan (a loan returned to marketing and resubmitted gets a new one).

    The ``assignee`` (who started it, or took it over by hand-over) files the report. On a two-person product
    (rule 26) the report names a second investigator, the ``cosigner``: from ``reported_at`` it waits for their
    co-signature; agreeing completes the round, disagreeing (``returned_at``) returns the report to the assignee.
    """

    OPINIONS = [("recommend", _("Recommend")), ("decline", _("Decline"))]

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="investigations", verbose_name=_("loan"))
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assigned_investigations", verbose_name=_("assigned to"))
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    field_visit_required = models.BooleanField(_("field visit required"))
    investigators = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="investigations", blank=True, verbose_name=_("investigators"))
    field_visit_on = models.DateField(_("field visit on"), null=True, blank=True)
    identity_verified = models.BooleanField(_("identity verified"), default=False)
    income_verified = models.BooleanField(_("income verified"), default=False)
    purpose_verified = models.BooleanField(_("purpose verified"), default=False)
    guarantors_verified = models.BooleanField(_("guarantors verified"), default=False)
    collateral_verified = models.BooleanField(_("collateral verified"), default=False)
    opinion = models.CharField(_("opinion"), max_length=10, choices=OPINIONS, blank=True)
    recommended_amount = MoneyField(_("recommended amount"), null=True, blank=True)
    recommended_term_months = models.PositiveIntegerField(_("recommended term (months)"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True, validators=[MaxLengthValidator(4000)])
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    cosigner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="cosigned_investigations", verbose_name=_("second investigator"))
    cosign_comment = models.TextField(_("co-signer's comment"), blank=True, validators=[MaxLengthValidator(4000)])
    returned_at = models.DateTimeField(_("report returned at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("investigation completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("investigation")
        verbose_name_plural = _("investigations")
        ordering = ["-started_at", "-id"]

    @property
    def awaits_cosignature(self) -> bool:
        return self.reported_at is not None and self.completed_at is None


class LoanHandover(models.Model):
    """A recorded hand-over of a loan's work from one staff member to another (rule 7)."""

    ROLES = [("investigator", _("Investigator")), ("cosigner", _("Second investigator")),
             ("marketing", _("Marketing officer"))]

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="handovers")
    role = models.CharField(max_length=16, choices=ROLES)
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("loan hand-over")
        verbose_name_plural = _("loan hand-overs")


# Uploaded files (SPEC §11), the LPR register and the scorecards (SPEC §15) live in their own modules of this app.
from applications.files.models import DocumentDownload, DocumentFile  # noqa: E402,F401

# The LPR publication register (SPEC §15) lives in its own module of this app.
from applications.lpr.models import LprPublication  # noqa: E402,F401

# The scorecards, the rate grid and its overrides (SPEC §15) too.
from applications.pricing.models import RateGridRow, RateOverride, ScorecardVersion  # noqa: E402,F401
