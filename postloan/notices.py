"""Reminders and notices (还款提醒, SPEC §12, §16.23): the outbox the nightly batch fills (``monitoring_batch``), the
channels behind one interface, and the sender the beat runs.

Sending: from 08:00 to 22:00 local time only. Each round claims the notices whose time has come — rows locked with
``SELECT … FOR UPDATE SKIP LOCKED`` and moved from ``queued`` to ``sending`` by a compare-and-swap UPDATE — commits the
claim, sends, and writes the answer. Two senders never claim the same row; a sender that dies leaves its rows in
``sending``, claimed again after ``NOTICE_CLAIM_STALE_SECONDS`` and sent with the same idempotency key (the notice id),
so the gateway delivers a notice once whatever the retries. Letters are not sent by the beat: a letter is a PDF
rendered when someone opens or prints it (never in the batch); printing it marks it sent.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from loancenter.lib.money import fmt_pct
from postloan.monitoring_batch import SEND_FROM, SEND_UNTIL
from postloan.monitoring_models import Notice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    ok: bool
    answer: str


class Channel:
    """One way to reach a borrower: ``send(notice, text)`` → Result (the status comes from the answer)."""

    def send(self, notice: Notice, text: str) -> Result:  # pragma: no cover - interface
        raise NotImplementedError


class LogChannel(Channel):
    """The default channel: the outbox row and the log are the record."""

    def send(self, notice: Notice, text: str) -> Result:
        log.info("notice %s to %s: %s", notice.pk, notice.recipient, text)
        return Result(True, "logged")


class HttpSmsChannel(Channel):
    """An SMS gateway over HTTP: POST JSON ``{id, to, text}`` with ``Idempotency-Key: notice-<id>``; the gateway
    answers JSON with ``status`` (``accepted`` or ``duplicate`` is delivered; anything else failed)."""

    def __init__(self, url: str, timeout: int = 10):
        self.url, self.timeout = url, timeout

    def send(self, notice: Notice, text: str) -> Result:
        body = json.dumps({"id": notice.pk, "to": notice.recipient, "text": text}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Idempotency-Key": f"notice-{notice.pk}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (configured URL)
                raw = response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return Result(False, f"HTTP {exc.code}: {exc.read().decode('utf-8', 'replace')[:500]}")
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            return Result(False, f"unreachable: {exc}"[:500])
        try:
            answer = json.loads(raw)
        except ValueError:
            return Result(False, f"unreadable answer: {raw[:500]}")
        status = str(answer.get("status", "")) if isinstance(answer, dict) else ""
        return Result(status in ("accepted", "duplicate"), raw[:1000])


class EmailChannel(Channel):
    """E-mail through Django's e-mail backend (SMTP in production)."""

    def send(self, notice: Notice, text: str) -> Result:
        message = EmailMessage(subject=_("Repayment reminder"), body=text, to=[notice.recipient],
                               headers={"X-Notice-Id": str(notice.pk)})
        try:
            sent = message.send(fail_silently=False)
        except OSError as exc:
            return Result(False, f"smtp: {exc}"[:500])
        return Result(bool(sent), "accepted" if sent else "not sent")


def channel_for(kind: str) -> Channel:
    if kind == Notice.SMS:
        return HttpSmsChannel(settings.SMS_GATEWAY_URL, settings.SMS_GATEWAY_TIMEOUT) if settings.SMS_GATEWAY_URL \
            else LogChannel()
    if kind == Notice.EMAIL:
        return EmailChannel()
    return LogChannel()


def fill(notice: Notice) -> None:
    """What is due on the installment and where the notice goes, read as it is sent (or the letter printed)."""
    from postloan.models import Installment

    inst = Installment.objects.filter(loan_id=notice.loan_id, due_date=notice.due_date).first()
    if inst is not None:
        notice.amount = (inst.principal + inst.interest + inst.penalty - inst.paid_principal - inst.paid_interest
                         - inst.paid_penalty)
    customer = notice.loan.customer
    if not notice.recipient:
        notice.recipient = customer.address if notice.channel == Notice.LETTER else customer.phone


def text_of(notice: Notice) -> str:
    values = {"due": notice.due_date.isoformat(), "amount": f"{notice.amount or 0:,.2f}",
              "no": notice.loan.application_no or notice.loan_id}
    if notice.kind == Notice.REPRICED:  # SPEC §15: the LPR repricing of that date
        from postloan.models import Repricing

        record = Repricing.objects.filter(loan_id=notice.loan_id, repriced_on=notice.due_date).first()
        if record is not None:
            return _("Loan %(no)s: from %(day)s your annual rate is %(new)s (was %(old)s): the LPR of %(lpr_day)s, "
                     "%(lpr)s, with your contract's spread of %(spread)s basis points. The installments from then on "
                     "were recomputed.") % {
                "no": values["no"], "day": record.repriced_on.isoformat(), "new": fmt_pct(record.new_rate, places=2),
                "old": fmt_pct(record.old_rate, places=2), "lpr_day": record.lpr_published_on.isoformat(),
                "lpr": fmt_pct(record.lpr, places=2), "spread": record.spread_bp}
    if notice.kind == Notice.PRE_DUE:
        return _("Loan %(no)s: %(amount)s is due on %(due)s. Please keep the amount in your repayment account.") % values
    return _("Loan %(no)s: the installment of %(due)s (%(amount)s) is overdue. Please repay at once; penalty "
             "interest accrues every day.") % values


def sending_hours(now: datetime) -> bool:
    """Never between 22:00 and 08:00 local time (SPEC §12)."""
    local = timezone.localtime(now).time()
    return SEND_FROM <= local < SEND_UNTIL


BEAT_CHANNELS = (Notice.SMS, Notice.EMAIL)


def claim(now: datetime, limit: int) -> list[int]:
    """Claim up to ``limit`` notices due by ``now``: queued ones, and ones left in ``sending`` by a dead sender."""
    stale = now - timedelta(seconds=settings.NOTICE_CLAIM_STALE_SECONDS)
    due = (Q(status=Notice.QUEUED) | Q(status=Notice.SENDING, claimed_at__lt=stale))
    with transaction.atomic():
        ids = list(Notice.objects.select_for_update(skip_locked=True)
                   .filter(due, scheduled_for__lte=now, channel__in=BEAT_CHANNELS)
                   .order_by("scheduled_for", "id").values_list("id", flat=True)[:limit])
        if not ids:
            return []
        # Compare-and-swap: only rows still claimable move to ``sending`` (a database without row locks, SQLite,
        # serialises writers, so this is what keeps two senders apart there).
        claimed = Notice.objects.filter(due, pk__in=ids)
        claimed.update(status=Notice.SENDING, claimed_at=now, attempts=models_f_plus("attempts"))
        return list(Notice.objects.filter(pk__in=ids, status=Notice.SENDING, claimed_at=now).values_list("id", flat=True))


def models_f_plus(field: str):
    from django.db.models import F

    return F(field) + 1


def send_due(now: datetime | None = None, *, limit: int | None = None) -> dict[str, int]:
    """One round of the beat task: nothing outside sending hours; otherwise claim, send and record each notice."""
    now = now or timezone.now()
    counts = {"sent": 0, "failed": 0}
    if not sending_hours(now):
        return counts
    ids = claim(now, limit or settings.NOTICE_BATCH_SIZE)
    for notice in Notice.objects.filter(pk__in=ids).select_related("loan", "loan__customer"):
        fill(notice)
        result = channel_for(notice.channel).send(notice, text_of(notice))
        status = Notice.SENT if result.ok else Notice.FAILED
        # Only the claim we hold is recorded (a row reclaimed by another sender meanwhile keeps its newer claim).
        Notice.objects.filter(pk=notice.pk, status=Notice.SENDING, claimed_at=notice.claimed_at).update(
            status=status, sent_at=timezone.now() if result.ok else None, answer=result.answer, amount=notice.amount,
            recipient=notice.recipient)
        counts["sent" if result.ok else "failed"] += 1
    return counts


def letter_printed(*, notice: Notice) -> None:
    """Opening or printing a letter marks it sent (the first time), with what it said."""
    Notice.objects.filter(pk=notice.pk, channel=Notice.LETTER, status=Notice.QUEUED).update(
        status=Notice.SENT, sent_at=timezone.now(), answer="printed", amount=notice.amount, recipient=notice.recipient)
