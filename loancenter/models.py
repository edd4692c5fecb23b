from __future__ import annotations

import json
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MinValueValidator
from django.db import models, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition
from rest_framework.authtoken.models import Token

from loancenter import audit as audit_chain
from loancenter.lib.idcard import validate_id_number
from loancenter.lib.identifiers import ID_NUMBER, IdentifierField


class User(AbstractUser):
    """A staff member. Posts are groups; ``approval_limit`` is the approver's personal authority (授权额度)."""

    approval_limit = models.DecimalField(
        _("approval limit"), max_digits=14, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.00"))],
        help_text=_("Approvers decide loans up to this amount; empty means no authority."),
    )
    # Staff loans: a staff member who is the borrower or a guarantor may do nothing on that loan (SPEC §4).
    # Normalised like customers' (rule 25): the staff-borrower check matches the two.
    id_number = IdentifierField(_("ID number"), kind=ID_NUMBER, max_length=18, blank=True, validators=[validate_id_number])

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
    at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=64)
    # The loan the entry belongs to (most entries); other objects use object_type/object_id.
    loan = models.ForeignKey("applications.Loan", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_entries")
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    from_status = models.CharField(max_length=40, blank=True)
    to_status = models.CharField(max_length=40, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    # The chain (loancenter/audit.py): HMAC-SHA256 (AUDIT_HMAC_KEY) of this row's content and the previous row's hash.
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

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
        constraints = [models.CheckConstraint(condition=models.Q(id=audit_chain.HEAD_ID), name="audithead_single_row")]


class RefusedAttempt(models.Model):
    """A refused operation, kept apart from the audit trail (a refusal changes nothing on the loan)."""

    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=64)
    loan_id_ref = models.BigIntegerField(null=True, blank=True)
    code = models.CharField(max_length=64)
    detail = models.TextField()

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["code", "at"], name="refused_code_at")]  # dashboard: SoD refusals


class PiiView(models.Model):
    """A record of one view of a customer's full ID or phone number (SPEC §4)."""

    at = models.DateTimeField(auto_now_add=True)
    viewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("applications.Customer", on_delete=models.CASCADE, related_name="pii_views")
    surface = models.CharField(max_length=16)  # "browser" / "api"

    class Meta:
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
    approval_limit = models.DecimalField(_("new approval limit"), max_digits=14, decimal_places=2, null=True,
                                         blank=True, validators=[MinValueValidator(Decimal("0.00"))])
    activate = models.BooleanField(_("re-activate the account"), default=False)
    reason = models.TextField(_("reason"), blank=True)
    # The person's posts, limit and account status when the request was filed, for the decider to compare.
    before = models.JSONField(default=dict, blank=True)
    via = models.CharField(max_length=16, blank=True)  # the surface it was filed on: admin / api / browser

    state = FSMField(_("state"), default=State.PENDING, choices=State.choices, protected=True)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("filed by"))
    filed_at = models.DateTimeField(_("filed at"), default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    applied = models.JSONField(default=dict, blank=True)  # what changed at approval (old and new values)

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


class LoginCounter(models.Model):
    """Failed logins, counted in the database so that every gunicorn worker sees the same counts (SPEC §16.14).

    A ``lockout`` row counts one username's failures from one client address (SPEC §10: lock-out by username and
    address together); a ``throttle`` row counts every failure from one address (``username`` empty). An attempt
    is counted *before* its password is checked (``loancenter.auth``), so a burst cannot get more checked than
    the limit. Rows whose window and lock have passed mean nothing and are deleted by ``clear_login_counters``.
    """

    LOCKOUT = "lockout"
    THROTTLE = "throttle"

    kind = models.CharField(max_length=8, choices=[(LOCKOUT, "lock-out"), (THROTTLE, "throttle")])
    username = models.CharField(max_length=150, blank=True)
    address = models.CharField(max_length=64)
    failures = models.PositiveIntegerField(default=0)
    window_ends = models.DateTimeField()  # failures older than the window are forgotten
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("login counter")
        verbose_name_plural = _("login counters")
        constraints = [
            models.UniqueConstraint(fields=["kind", "username", "address"], name="logincounter_unique"),
        ]
        # clear_login_counters: rows whose window has ended.
        indexes = [models.Index(fields=["window_ends"], name="logincounter_window_ends")]
