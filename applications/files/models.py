"""Uploaded files (影像资料): one row per version, never overwritten or deleted while the loan lives (SPEC §11)."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import storages
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMModelMixin, transition

from applications.catalog import document_label
from loancenter.lib.fsm import StateField


class DocumentFile(FSMModelMixin, models.Model):
    """One version of one paper of a customer's folder, optionally of one of their loans (SPEC §16.8).

    The bytes live in the ``documents`` storage (``STORAGES``) under ``storage_name``, a name of our own (never the
    uploader's); ``sha256``/``size`` are those of the stored bytes (``verify_documents`` re-hashes them);
    ``content_type`` and ``pages`` were found from the bytes when the file was accepted. A second upload of the same
    code is the next ``version``. A misfiled version is voided by two people: hidden from the gallery, kept.
    """

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        VOID_REQUESTED = "void_requested", _("Void requested")
        VOIDED = "voided", _("Voided")

    customer = models.ForeignKey("applications.Customer", on_delete=models.PROTECT, related_name="document_files",
                                 verbose_name=_("customer"))
    loan = models.ForeignKey("applications.Loan", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="files", verbose_name=_("loan"))
    code = models.CharField(_("document"), max_length=32)
    version = models.PositiveIntegerField(_("version"))
    name = models.CharField(_("file name"), max_length=200)  # as the uploader named it; shown, never used as a path
    storage_name = models.CharField(max_length=300, unique=True, editable=False)
    sha256 = models.CharField("SHA-256", max_length=64)
    size = models.PositiveBigIntegerField(_("size"))
    content_type = models.CharField(_("content type"), max_length=40)
    pages = models.PositiveIntegerField(_("pages"), default=1)
    converted_from = models.CharField(max_length=10, blank=True)  # "HEIC": the stored JPEG was converted on upload
    preview_name = models.CharField(max_length=300, blank=True, editable=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    state = StateField(_("status"), default=State.ACTIVE, choices=State.choices, protected=True)
    void_reason = models.TextField(_("reason for voiding"), blank=True, validators=[MaxLengthValidator(2000)])
    void_requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+")
    void_requested_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["code", "-version"]
        verbose_name = _("document file")
        verbose_name_plural = _("document files")
        constraints = [
            models.UniqueConstraint(fields=["loan", "code", "version"], condition=Q(loan__isnull=False),
                                    name="docfile_loan_version_once"),
            models.UniqueConstraint(fields=["customer", "code", "version"], condition=Q(loan__isnull=True),
                                    name="docfile_folder_version_once"),
            models.CheckConstraint(condition=Q(version__gte=1), name="docfile_version_positive"),
        ]
        indexes = [
            # Rule 5 at submit and the gallery: a customer's folder files by code (loan files use the loan key).
            models.Index(fields=["customer", "code"], name="docfile_customer_code"),
        ]

    def __str__(self) -> str:
        return f"{self.label} v{self.version}"

    @property
    def label(self) -> str:
        return document_label(self.code)

    @property
    def is_pdf(self) -> bool:
        return self.content_type == "application/pdf"

    @transition(field=state, source=State.ACTIVE, target=State.VOID_REQUESTED)
    def request_void(self, *, by, reason: str) -> None:
        self.void_reason, self.void_requested_by, self.void_requested_at = reason, by, timezone.now()

    @transition(field=state, source=State.VOID_REQUESTED, target=State.VOIDED)
    def approve_void(self, *, by) -> None:
        self.voided_by, self.voided_at = by, timezone.now()

    @transition(field=state, source=State.VOID_REQUESTED, target=State.ACTIVE)
    def reject_void(self, *, by) -> None:
        self.void_reason, self.void_requested_by, self.void_requested_at = "", None, None


class DocumentDownload(models.Model):
    """One opening of a stored file (who, when, which file, how), shown to the manager beside the PII views (§11)."""

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("staff member"))
    document = models.ForeignKey(DocumentFile, on_delete=models.PROTECT, related_name="downloads",
                                 verbose_name=_("document"))
    surface = models.CharField(max_length=16)  # "browser" / "api"
    disposition = models.CharField(max_length=12)  # "inline" / "attachment"

    class Meta:
        verbose_name = _("document download")
        verbose_name_plural = _("document downloads")
        ordering = ["-at", "-id"]


def document_storage():
    """Where the files are kept (STORAGES["documents"]: local disk by default, an S3-compatible store by settings)."""
    return storages["documents"]
