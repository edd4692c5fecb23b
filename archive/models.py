"""The archive (档案管理岗, SPEC §7): one folder per customer, the per-loan document checklist, the vault,
and the registers of lending-out (调阅), inspection (检查), hand-over (移交) and destruction (销毁).

The registers are append-only: a destruction record is never deleted or rewritten once it is decided.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMModelMixin, transition

from applications.models import Customer, Loan
from archive.checklist import Section, item_label
from loancenter.lib.fsm import StateField


class Folder(models.Model):
    """按户专夹: one folder per customer, numbered DA-000123 in the order folders are opened."""

    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="archive_folder",
                                    verbose_name=_("customer"))
    folder_no = models.CharField(_("folder number"), max_length=20, unique=True, null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("opened by"))
    # The archivist who keeps the folder; a hand-over moves folders to another archivist.
    keeper = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="kept_folders", verbose_name=_("keeper"))
    shelf = models.CharField(_("shelf location"), max_length=60, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("archive folder")
        verbose_name_plural = _("archive folders")

    def __str__(self) -> str:
        return self.folder_no or f"#{self.pk}"


class LoanFile(models.Model):
    """The part of a customer's folder that holds one loan's documents; completed when the loan is closed."""

    folder = models.ForeignKey(Folder, on_delete=models.PROTECT, related_name="loan_files", verbose_name=_("folder"))
    loan = models.OneToOneField(Loan, on_delete=models.PROTECT, related_name="archive_file", verbose_name=_("loan"))
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("completed by"))

    class Meta:
        ordering = ["loan_id"]
        verbose_name = _("loan file")
        verbose_name_plural = _("loan files")

    def __str__(self) -> str:
        return f"{self.folder} / {self.loan}"


class ItemState(models.TextChoices):
    PENDING = "pending", _("Not received")
    ON_FILE = "on_file", _("On file")
    OUT = "out", _("Lent out")
    DESTROYED = "destroyed", _("Destroyed")


class Copy(models.TextChoices):
    ORIGINAL = "original", _("Original")
    COPY = "copy", _("Copy")


class ChecklistItem(models.Model):
    """One document a loan's file must hold. Generated from the checklist template and the loan's contracts."""

    loan_file = models.ForeignKey(LoanFile, on_delete=models.PROTECT, related_name="items")
    section = models.CharField(_("section"), max_length=16, choices=Section.choices)
    # Template code (``loan_application``, ``doc:id_card``, ``contract:HT0001``, ``certificate``…): unique per file.
    code = models.CharField(_("code"), max_length=80)
    # The number the item carries (contract, receipt, certificate number), shown with its label.
    reference = models.CharField(_("reference"), max_length=80, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    original_required = models.BooleanField(_("original required"), default=True)
    vault = models.BooleanField(_("kept in the vault"), default=False)

    state = models.CharField(_("state"), max_length=12, choices=ItemState.choices, default=ItemState.PENDING)
    copy_kind = models.CharField(_("original or copy"), max_length=8, choices=Copy.choices, blank=True)
    pages = models.PositiveSmallIntegerField(_("pages"), null=True, blank=True,
                                             validators=[MinValueValidator(1), MaxValueValidator(9999)])
    received_on = models.DateField(_("received on"), null=True, blank=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("received by"))
    location = models.CharField(_("vault location"), max_length=60, blank=True)
    destroyed_on = models.DateField(_("destroyed on"), null=True, blank=True)

    class Meta:
        ordering = ["loan_file_id", "position", "id"]
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        constraints = [
            models.UniqueConstraint(fields=["loan_file", "code"], name="archive_item_once_per_file"),
            # A vault item on file always has a location (SPEC §7).
            models.CheckConstraint(condition=Q(vault=False) | Q(state="pending") | ~Q(location=""),
                                   name="archive_vault_item_has_location"),
            models.CheckConstraint(condition=Q(state="pending") | Q(received_on__isnull=False),
                                   name="archive_received_item_has_date"),
        ]
        indexes = [
            # Work queue: items still to receive.
            models.Index(fields=["state", "loan_file"], name="archive_item_state"),
        ]

    def __str__(self) -> str:
        return f"{self.loan_file} · {self.code}"

    @property
    def label(self) -> str:
        return item_label(self)

    @property
    def received(self) -> bool:
        return self.state != ItemState.PENDING


class RetentionPeriod(models.Model):
    """Retention per document category, in years after the loan ends (settled, written off, withdrawn).

    Rows override ``archive.checklist.DEFAULT_RETENTION_YEARS``; the general post edits them in the admin.
    """

    category = models.CharField(_("category"), max_length=16, choices=Section.choices, unique=True)
    years = models.PositiveSmallIntegerField(_("years"), validators=[MinValueValidator(1), MaxValueValidator(100)])
    basis = models.CharField(_("legal basis"), max_length=200, blank=True)

    class Meta:
        ordering = ["category"]
        verbose_name = _("retention period")
        verbose_name_plural = _("retention periods")

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.years}"


class Lending(FSMModelMixin, models.Model):
    """调阅: a request to borrow a file; approved by someone other than the requester, then out and back."""

    REQUESTED, APPROVED, REFUSED, OUT, RETURNED = "requested", "approved", "refused", "out", "returned"
    STATUSES = [(REQUESTED, _("Requested")), (APPROVED, _("Approved")), (REFUSED, _("Refused")),
                (OUT, _("Lent out")), (RETURNED, _("Returned"))]

    lending_no = models.CharField(_("register number"), max_length=20, unique=True, null=True, blank=True)
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="lendings", verbose_name=_("item"))
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="archive_lendings", verbose_name=_("loan"))
    status = StateField(_("status"), max_length=10, choices=STATUSES, default=REQUESTED, protected=True)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("requested by"))
    purpose = models.CharField(_("purpose"), max_length=200)
    due_on = models.DateField(_("due back on"))
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)
    out_at = models.DateTimeField(_("lent out at"), null=True, blank=True)
    out_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("handed out by"))
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    returned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("received back by"))
    return_note = models.CharField(_("condition on return"), max_length=200, blank=True)
    # Optimistic concurrency (rule 22): bumped by a compare-and-swap on every edit (loancenter.lib.versioning).
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("lending")
        verbose_name_plural = _("lending register")
        constraints = [
            # An item is out to at most one borrower at a time.
            models.UniqueConstraint(fields=["item"], condition=Q(status="out"), name="archive_item_out_once"),
        ]
        indexes = [
            # Queue and dashboard: files out past their due date.
            models.Index(fields=["status", "due_on"], name="archive_lending_due"),
        ]

    def __str__(self) -> str:
        return self.lending_no or f"#{self.pk}"

    # Approved or refused by someone other than the requester (archive.services); an approval may still be refused
    # before the file leaves; the archivist hands it out and takes it back.
    @transition(field=status, source=REQUESTED, target=APPROVED)
    def approve(self):
        pass

    @transition(field=status, source=[REQUESTED, APPROVED], target=REFUSED)
    def refuse(self):
        pass

    @transition(field=status, source=APPROVED, target=OUT)
    def hand_out(self):
        pass

    @transition(field=status, source=OUT, target=RETURNED)
    def take_back(self):
        pass


class Inspection(models.Model):
    """检查登记: a periodic inspection of the archive (completeness, storage, security)."""

    inspected_on = models.DateField(_("inspected on"))
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("inspector"))
    scope = models.CharField(_("scope"), max_length=200)
    folders_checked = models.PositiveIntegerField(_("folders checked"), default=0)
    findings = models.TextField(_("findings"))
    rectification = models.TextField(_("rectification required"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("recorded by"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["-inspected_on", "-id"]
        verbose_name = _("inspection")
        verbose_name_plural = _("inspection register")


class Handover(models.Model):
    """移交登记: folders handed from one archivist to another; the receiver confirms."""

    handed_on = models.DateField(_("handed over on"))
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("handed over by"))
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("taken over by"))
    folders = models.ManyToManyField(Folder, related_name="handovers", verbose_name=_("folders"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    class Meta:
        ordering = ["-handed_on", "-id"]
        verbose_name = _("hand-over")
        verbose_name_plural = _("hand-over register")
        constraints = [models.CheckConstraint(condition=~Q(from_user=models.F("to_user")), name="archive_handover_two_people")]


class Destruction(FSMModelMixin, models.Model):
    """销毁登记: proposed by an archivist, approved by someone else, witnessed; kept forever."""

    PROPOSED, DESTROYED, REFUSED = "proposed", "destroyed", "refused"
    STATUSES = [(PROPOSED, _("Proposed")), (DESTROYED, _("Destroyed")), (REFUSED, _("Refused"))]

    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="destructions", verbose_name=_("item"))
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="archive_destructions", verbose_name=_("loan"))
    status = StateField(_("status"), max_length=10, choices=STATUSES, default=PROPOSED, protected=True)
    retention_until = models.DateField(_("retention until"))
    reason = models.CharField(_("reason"), max_length=200)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("proposed by"))
    proposed_at = models.DateTimeField(_("proposed at"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("approved by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    witness = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("witness"))
    destroyed_on = models.DateField(_("destroyed on"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=60, blank=True)
    # Optimistic concurrency (rule 22): bumped by a compare-and-swap on every edit (loancenter.lib.versioning).
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        ordering = ["-proposed_at", "-id"]
        verbose_name = _("destruction")
        verbose_name_plural = _("destruction register")
        constraints = [
            # One open proposal and one destruction per item.
            models.UniqueConstraint(fields=["item"], condition=Q(status__in=["proposed", "destroyed"]),
                                    name="archive_destroy_once"),
            models.CheckConstraint(condition=~Q(status="destroyed") | (Q(witness__isnull=False) & Q(destroyed_on__isnull=False)),
                                   name="archive_destruction_witnessed"),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None and type(self).objects.filter(pk=self.pk).exclude(status=self.PROPOSED).exists():
            raise ValueError("a decided destruction record is never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("destruction records are kept forever")

    # Approved (and done, witnessed) or refused by someone other than the proposer (archive.services).
    @transition(field=status, source=PROPOSED, target=DESTROYED)
    def destroy(self):
        pass

    @transition(field=status, source=PROPOSED, target=REFUSED)
    def refuse(self):
        pass
