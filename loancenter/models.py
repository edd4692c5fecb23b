from __future__ import annotations

import json
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMModelMixin, transition
from rest_framework.authtoken.models import Token

from loancenter import audit as audit_chain
from loancenter.lib.fsm import StateField
from loancenter.lib.idcard import validate_id_number
from loancenter.lib.identifiers import ID_NUMBER, IdentifierField
from loancenter.lib.money import MoneyField

CENTER_CODE = "CENTER"


class Unit(models.Model):
    """The center (个贷中心, made by a migration) or one of its sub-centers (个贷分中心), SPEC §13 and §16.26.

    Staff belong to a unit; a customer and a loan belong to their marketing officer's unit. Staff of the center
    see every unit; staff of a sub-center see their unit's loans only. ``may_disburse``: the unit lends on its own
    authority, so it must keep a mortgage clerk of its own (its last one is never removed or moved away).
    """

    code = models.CharField(_("code"), max_length=16, primary_key=True,
                            validators=[RegexValidator(r"^[A-Z0-9][A-Z0-9_-]*$",
                                                       _("Capital letters, digits, - and _ only."))])
    name = models.CharField(_("name"), max_length=60, unique=True)
    may_disburse = models.BooleanField(_("may disburse"), default=False)
    is_center = models.BooleanField(_("is the center"), default=False, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-is_center", "code"]
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        constraints = [
            models.UniqueConstraint(fields=["is_center"], condition=Q(is_center=True), name="one_center_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @classmethod
    def center(cls) -> Unit:
        """The center unit; made by a migration, and again here after a flush emptied the tables (tests)."""
        unit, _created = cls.objects.get_or_create(
            code=CENTER_CODE, defaults={"name": "个贷中心", "may_disburse": True, "is_center": True})
        return unit


class User(AbstractUser):
    """A staff member. Posts are groups; ``approval_limit`` is the approver's personal authority (授权额度)."""

    approval_limit = MoneyField(
        _("approval limit"), null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.00"))],
        help_text=_("Approvers decide loans up to this amount; empty means no authority."),
    )
    # Staff loans: a staff member who is the borrower or a guarantor may do nothing on that loan (SPEC §4).
    # Normalised like customers' (rule 25): the staff-borrower check matches the two.
    id_number = IdentifierField(_("ID number"), kind=ID_NUMBER, max_length=18, blank=True, validators=[validate_id_number])
    # SPEC §13, §16.26: the unit whose loans the person sees (the center's staff see every unit). Empty only until
    # the first save, which puts the person in the center; raw inserts get the center from the database default.
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="staff", verbose_name=_("unit"),
                             db_default=CENTER_CODE, blank=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    # API tokens die with a password change or a deactivation (SPEC §10 "Authentication"). Sessions need nothing:
    # Django ends them by the password hash they keep and by refusing inactive users.
    def set_password(self, raw_password):
        super().set_password(raw_password)
        self._credentials_changed = True

    def set_unusable_password(self):
        super().set_unusable_password()
        self._credentials_changed = True

    def save(self, *args, **kwargs):
        if not isinstance(self.unit_id, str):  # not set, or the database default not yet read back
            self.unit = Unit.center()
        super().save(*args, **kwargs)
        if self.__dict__.pop("_credentials_changed", False) or not self.is_active:
            self.revoke_tokens()

    def revoke_tokens(self) -> None:
        Token.objects.filter(user=self).delete()

    @property
    def posts(self) -> frozenset[str]:
        cached = getattr(self, "_posts_cache", None)
        if cached is None:
            cached = frozenset(self.groups.values_list("name", flat=True)) if self.pk else frozenset()
            self._posts_cache = cached
        return cached

    def forget_posts(self) -> None:
        self.__dict__.pop("_posts_cache", None)

    def has_post(self, post: str) -> bool:
        return post in self.posts

    def has_any_post(self, *posts: str) -> bool:
        return bool(self.posts.intersection(posts))

    @property
    def display(self) -> str:
        return self.get_full_name() or self.username

    @property
    def in_center(self) -> bool:
        """Center-level staff see every unit (SPEC §16.26)."""
        return self.unit_id is None or self.unit_id == CENTER_CODE


class AuditEntryQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        # Each row links to the one before it, so rows are appended one at a time through save().
        objs = list(objs)
        with transaction.atomic(using=self.db):
            for obj in objs:
                obj.save(using=self.db)
        return objs


class AuditEntry(models.Model):
    """An immutable record of one state change or sensitive operation (who, when, from, to, payload, reason)."""

    # Set in Python (not auto_now_add) so the hash covers the exact value stored.
    at = models.DateTimeField(_("time"), default=timezone.now, editable=False, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("actor"))
    action = models.CharField(_("action"), max_length=64)
    # The loan the entry belongs to (most entries); other objects use object_type/object_id.
    loan = models.ForeignKey("applications.Loan", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_entries", verbose_name=_("loan"))
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    from_status = models.CharField(_("status before"), max_length=40, blank=True)
    to_status = models.CharField(_("status after"), max_length=40, blank=True)
    payload = models.JSONField(_("details"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    # The chain (loancenter/audit.py): HMAC-SHA256 (AUDIT_HMAC_KEY) of this row's content and the previous row's hash.
    prev_hash = models.CharField(_("previous hash"), max_length=64, editable=False)
    hash = models.CharField(_("hash"), max_length=64, editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        constraints = [
            # Two rows linking to the same predecessor would fork the chain.
            models.UniqueConstraint(fields=["prev_hash"], name="auditentry_prev_hash_unique"),
        ]

    def save(self, *args, **kwargs):
        """Append to the chain; every writer (run_transition, audit(), services) comes through here."""
        if self.pk is not None:
            raise ValueError("audit entries are immutable")
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        # What the JSON column gives back, so the hash verify_audit recomputes is the same.
        self.payload = json.loads(json.dumps(self.payload if self.payload is not None else {}))
        if self.at is None:
            self.at = timezone.now()
        with transaction.atomic(using=using):
            audit_chain.lock_chain(using)
            head = audit_chain.read_head_for_append(AuditHead, type(self), using)  # refuses if the chain was tampered with
            self.prev_hash = head.hash
            self.hash = audit_chain.entry_hash(
                prev_hash=self.prev_hash, at=self.at, actor_id=self.actor_id, action=self.action,
                loan_id=self.loan_id, object_type=self.object_type, object_id=self.object_id,
                from_status=self.from_status, to_status=self.to_status, payload=self.payload, reason=self.reason,
            )
            super().save(*args, **kwargs)
            audit_chain.advance_head(AuditHead, using, head, self)

    def delete(self, *args, **kwargs):
        raise ValueError("audit entries are immutable")


class AuditHead(models.Model):
    """The audit chain's end, under a keyed tag (loancenter/audit.py): one row, advanced with every append.

    Without it, removing rows from the end (or TRUNCATE) would leave a shorter chain that still checks out.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=audit_chain.HEAD_ID, editable=False)
    rows = models.BigIntegerField()
    last_id = models.BigIntegerField()  # 0: no row yet
    hash = models.CharField(max_length=64)  # the last row's hash (GENESIS for none)
    # Rows up to this id were chained with plain SHA-256, before AUDIT_HMAC_KEY (0: none).
    legacy_last_id = models.BigIntegerField(default=0)
    tag = models.CharField(max_length=64)  # HMAC of the above with AUDIT_HMAC_KEY

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain heads")
        constraints = [models.CheckConstraint(condition=models.Q(id=audit_chain.HEAD_ID), name="audithead_single_row")]


class RefusedAttempt(models.Model):
    """A refused operation, kept apart from the audit trail (a refusal changes nothing on the loan)."""

    at = models.DateTimeField(_("time"), auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("actor"))
    action = models.CharField(_("action"), max_length=64)
    loan_id_ref = models.BigIntegerField(_("loan id"), null=True, blank=True)
    code = models.CharField(_("refusal code"), max_length=64)
    detail = models.TextField(_("detail"))

    class Meta:
        verbose_name = _("refused attempt")
        verbose_name_plural = _("refused attempts")
        ordering = ["-at"]
        indexes = [models.Index(fields=["code", "at"], name="refused_code_at")]  # dashboard: SoD refusals


class PiiView(models.Model):
    """A record of one view of a customer's full ID or phone number (SPEC §4)."""

    at = models.DateTimeField(_("time"), auto_now_add=True)
    viewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("viewed by"))
    customer = models.ForeignKey("applications.Customer", on_delete=models.CASCADE, related_name="pii_views", verbose_name=_("customer"))
    surface = models.CharField(_("viewed through"), max_length=16)  # "browser" / "api"

    class Meta:
        verbose_name = _("personal data view")
        verbose_name_plural = _("personal data views")
        ordering = ["-at"]


class StaffRequest(FSMModelMixin, models.Model):
    """A grant of powers waiting for a second person (rule 30): posts to add, a new approval limit, re-activation.

    Filed by `general` or `manager` about someone else; approved or rejected by another `manager` who is neither
    the filer nor the person it is about (``loancenter.services``). Nothing changes until it is approved.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staff_requests",
                             verbose_name=_("staff member"))
    add_posts = models.JSONField(_("posts to grant"), default=list, blank=True)
    # change_limit says whether the limit changes at all: an empty new limit is a change too (no ceiling at branch level).
    change_limit = models.BooleanField(_("changes the approval limit"), default=False)
    approval_limit = MoneyField(_("new approval limit"), null=True,
                                         blank=True, validators=[MinValueValidator(Decimal("0.00"))])
    activate = models.BooleanField(_("re-activate the account"), default=False)
    # A move to another unit (SPEC §13): it changes whose loans the person sees, so it waits for a second person.
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("move to unit"))
    reason = models.TextField(_("reason"), blank=True)
    # The person's posts, limit and account status when the request was filed, for the decider to compare.
    before = models.JSONField(_("before"), default=dict, blank=True)
    via = models.CharField(_("filed through"), max_length=16, blank=True)  # the surface it was filed on: admin / api / browser

    state = StateField(_("state"), default=State.PENDING, choices=State.choices, protected=True)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("filed by"))
    filed_at = models.DateTimeField(_("filed at"), default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    applied = models.JSONField(_("applied"), default=dict, blank=True)  # what changed at approval (old and new values)

    class Meta:
        ordering = ["-filed_at", "-id"]
        verbose_name = _("staff request")
        verbose_name_plural = _("staff requests")
        constraints = [
            # One grant at a time per person: the decider compares it with the powers the person has now.
            models.UniqueConstraint(fields=["user"], condition=Q(state="pending"), name="one_pending_staff_request"),
            models.CheckConstraint(condition=Q(approval_limit__isnull=True) | Q(approval_limit__gte=0),
                                   name="staff_request_limit_not_negative"),
        ]
        indexes = [models.Index(fields=["state", "filed_at"], name="staff_request_queue")]  # the managers' page

    def __str__(self) -> str:
        return f"#{self.pk} {self.user}"

    @transition(field=state, source=State.PENDING, target=State.APPROVED)
    def approve(self) -> None:
        """Approved by another manager; the service applies the grant in the same transaction."""

    @transition(field=state, source=State.PENDING, target=State.REJECTED)
    def reject(self) -> None:
        """Rejected by another manager; nothing changes."""

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING


class Handover(FSMModelMixin, models.Model):
    """岗位变动交接 (SPEC §13, §16.27): a person's open work handed to a successor, approved by a manager who is
    neither the filer nor a party. ``items`` is what was to move when it was filed; at approval the list is computed
    again (``items_moved``) and the difference kept (``difference``). While it is pending nothing new is assigned to
    the giver (``loancenter.handovers.check_not_handing_over``)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="handovers_given",
                                  verbose_name=_("handed over by"))
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="handovers_received",
                                verbose_name=_("received by"))
    reason = models.TextField(_("reason"))
    items = models.JSONField(_("what moves"), default=list, blank=True)  # [{kind, id, label, loan}] at filing
    items_moved = models.JSONField(_("what moved"), default=list, blank=True)  # computed again at approval
    difference = models.JSONField(default=dict, blank=True)  # {"added": [...], "removed": [...]} at approval
    status = StateField(_("status"), default=Status.PENDING, choices=Status.choices, protected=True)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("filed by"))
    filed_at = models.DateTimeField(_("filed at"), default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        ordering = ["-filed_at", "-id"]
        verbose_name = _("hand-over")
        verbose_name_plural = _("hand-overs")
        constraints = [
            # One pending hand-over per giver: the decider compares one list with what the giver holds.
            models.UniqueConstraint(fields=["from_user"], condition=Q(status="pending"), name="one_pending_handover"),
            models.CheckConstraint(condition=~Q(from_user=models.F("to_user")), name="handover_two_people"),
        ]
        indexes = [models.Index(fields=["status", "filed_at"], name="handover_queue")]  # the managers' page

    def __str__(self) -> str:
        return f"#{self.pk} {self.from_user} → {self.to_user}"

    @transition(field=status, source=Status.PENDING, target=Status.APPROVED)
    def approve(self) -> None:
        """Approved by a manager who is neither the filer nor a party; the service moves the work with it."""

    @transition(field=status, source=Status.PENDING, target=Status.REJECTED)
    def reject(self) -> None:
        """Rejected with a note; nothing moves."""

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING


class LoginCounter(models.Model):
    """Failed logins, counted in the database so that every gunicorn worker sees the same counts (SPEC §16.14).

    A ``lockout`` row counts one username's failures from one client address (SPEC §10: lock-out by username and
    address together); a ``throttle`` row counts every failure from one address (``username`` empty). An attempt
    is counted *before* its password is checked (``loancenter.auth``), so a burst cannot get more checked than
    the limit. Rows whose window and lock have passed mean nothing and are deleted by ``clear_login_counters``.
    """

    LOCKOUT = "lockout"
    THROTTLE = "throttle"

    kind = models.CharField(_("counted by"), max_length=8, choices=[(LOCKOUT, _("username and address (lock-out)")),
                                                                    (THROTTLE, _("address (throttle)"))])
    username = models.CharField(_("username"), max_length=150, blank=True)
    address = models.CharField(_("client address"), max_length=64)
    failures = models.PositiveIntegerField(_("failed logins"), default=0)
    window_ends = models.DateTimeField(_("counting window ends"))  # failures older than the window are forgotten
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("login counter")
        verbose_name_plural = _("login counters")
        constraints = [
            models.UniqueConstraint(fields=["kind", "username", "address"], name="logincounter_unique"),
        ]
        # clear_login_counters: rows whose window has ended.
        indexes = [models.Index(fields=["window_ends"], name="logincounter_window_ends")]
