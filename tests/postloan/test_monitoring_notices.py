"""Reminders and notices (SPEC §12, §16.23; issue 18 part 5): queued by the nightly batch, sent by the beat task only
from 08:00 to 22:00, each once whatever the retries, through an HTTP SMS gateway (a local fake one here)."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from applications.models import Status
from postloan import notices
from postloan.models import Notice

SH = ZoneInfo("Asia/Shanghai")
FIRST_DUE = date(2025, 2, 15)


def at(day: date, hour: int = 10, minute: int = 0):
    return time_machine.travel(datetime.combine(day, time(hour, minute), tzinfo=SH), tick=False)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SH)


def run_batch(as_of: date) -> None:
    with at(as_of + timedelta(days=1), hour=2):
        call_command("run_nightly_batch", "--as-of", as_of.isoformat(), stdout=open("/dev/null", "w"))  # noqa: SIM115


class FakeGateway:
    """A local SMS gateway: accepts JSON messages, dedupes by Idempotency-Key, or answers what the test sets."""

    def __init__(self):
        self.delivered: dict[str, dict] = {}
        self.requests = 0
        self.answer = {"status": "accepted"}
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.requests += 1
                key = self.headers.get("Idempotency-Key", "")
                if gateway.answer.get("status") == "accepted":
                    status = "duplicate" if key in gateway.delivered else "accepted"
                    gateway.delivered.setdefault(key, body)
                    answer = {"status": status, "message_id": key}
                else:
                    answer = gateway.answer
                payload = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(settings):
    fake = FakeGateway()
    settings.SMS_GATEWAY_URL = fake.url
    yield fake
    fake.close()


@pytest.fixture
def active(staff, flow, draft):
    with at(date(2025, 1, 15)):
        loan = flow.advance(draft, Status.ACTIVE)
    assert loan.installments.get(number=1).due_date == FIRST_DUE
    return loan


def test_the_batch_queues_the_pre_due_sms_three_days_before_and_the_overdue_sms_and_letter(staff, active):
    run_batch(date(2025, 2, 10))
    assert not Notice.objects.filter(loan=active).exists()
    run_batch(date(2025, 2, 11))  # tomorrow morning (2-12) is 3 days before the due date
    pre = Notice.objects.get(loan=active)
    assert (pre.kind, pre.channel, pre.due_date, pre.status) == ("pre_due", "sms", FIRST_DUE, "queued")
    assert pre.scheduled_for == local(date(2025, 2, 12), 8)
    run_batch(date(2025, 2, 12))
    assert Notice.objects.filter(loan=active).count() == 1
    run_batch(date(2025, 2, 16))  # first overdue day
    overdue = Notice.objects.filter(loan=active, kind="overdue")
    assert sorted(overdue.values_list("channel", flat=True)) == ["letter", "sms"]
    assert {n.scheduled_for for n in overdue} == {local(date(2025, 2, 17), 8)}
    run_batch(date(2025, 2, 17))
    assert Notice.objects.filter(loan=active).count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_loan_with_notices_cannot_be_deleted_so_no_notice_loses_its_loan(staff, active):
    """The outbox keeps no database key to the loan (docs/decisions.md): what keeps its loan there is that a disbursed
    loan cannot be deleted at all, through the ORM (the admin's path) or in SQL."""
    from django.db import IntegrityError, connection, transaction
    from django.db.models import ProtectedError

    run_batch(date(2025, 2, 11))
    assert Notice.objects.filter(loan=active).count() == 1
    with pytest.raises(ProtectedError):
        active.delete()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM applications_loan WHERE id = %s", [active.pk])  # checked at commit (deferred keys)
    assert Notice.objects.get(loan=active).loan.pk == active.pk


def test_nothing_is_sent_between_22_00_and_08_00(staff, active, gateway):
    run_batch(date(2025, 2, 11))
    for moment in (local(date(2025, 2, 12), 7, 59), local(date(2025, 2, 12), 22, 0), local(date(2025, 2, 12), 23, 0),
                   local(date(2025, 2, 13), 3, 0)):
        with time_machine.travel(moment, tick=False):
            assert notices.send_due() == {"sent": 0, "failed": 0}
    assert gateway.requests == 0
    assert Notice.objects.get(loan=active).status == "queued"
    with time_machine.travel(local(date(2025, 2, 12), 8, 0), tick=False):
        assert notices.send_due() == {"sent": 1, "failed": 0}


def test_a_notice_is_sent_once_whatever_the_retries(staff, active, gateway, api):
    run_batch(date(2025, 2, 11))
    notice = Notice.objects.get(loan=active)
    with time_machine.travel(local(date(2025, 2, 12), 9), tick=False):
        assert notices.send_due()["sent"] == 1
        assert notices.send_due() == {"sent": 0, "failed": 0}  # the beat again: nothing left
        notice.refresh_from_db()
        assert (notice.status, notice.attempts, notice.sent_at) == ("sent", 1, local(date(2025, 2, 12), 9))
        assert json.loads(notice.answer)["status"] == "accepted"
        first = active.installments.get(number=1)
        assert (notice.recipient, notice.amount) == (active.customer.phone, first.principal + first.interest)
        message = next(iter(gateway.delivered.values()))
        assert message["to"] == active.customer.phone and f"{first.principal + first.interest:,.2f}" in message["text"]
        outbox = api(staff.mkt).get(f"/api/notices/?loan={active.pk}")
    assert outbox.status_code == 200
    row = outbox.json()[0]
    assert (row["loan"], row["kind"], row["channel"], row["status"]) == (active.pk, "pre_due", "sms", "sent")
    assert row["scheduled_for"] and row["sent_at"]
    # A sender that died after the gateway took the message leaves the row in "sending"; it is claimed again once
    # stale and resent with the same idempotency key: the gateway delivers it once.
    Notice.objects.filter(pk=notice.pk).update(status="sending", claimed_at=local(date(2025, 2, 12), 9))
    with time_machine.travel(local(date(2025, 2, 12), 10), tick=False):
        assert notices.send_due()["sent"] == 1
    assert gateway.requests == 2 and len(gateway.delivered) == 1
    assert Notice.objects.get(pk=notice.pk).status == "sent"


def test_two_senders_at_once_send_each_notice_once(staff, active, gateway):
    run_batch(date(2025, 2, 11))
    with time_machine.travel(local(date(2025, 2, 12), 9), tick=False):
        first = notices.claim(local(date(2025, 2, 12), 9), 10)
        second = notices.claim(local(date(2025, 2, 12), 9), 10)
    assert len(first) == 1 and second == []


def test_the_gateways_refusal_marks_the_notice_failed(staff, active, gateway):
    run_batch(date(2025, 2, 11))
    gateway.answer = {"status": "rejected", "reason": "blacklisted number"}
    with time_machine.travel(local(date(2025, 2, 12), 9), tick=False):
        assert notices.send_due() == {"sent": 0, "failed": 1}
    notice = Notice.objects.get(loan=active)
    assert notice.status == "failed" and "blacklisted" in notice.answer and notice.sent_at is None


def test_the_letter_is_rendered_when_opened_and_only_then_marked_sent(staff, client, active):
    from tests.conftest import PASSWORD

    run_batch(date(2025, 2, 16))
    letter = Notice.objects.get(loan=active, channel="letter")
    assert letter.status == "queued"
    with time_machine.travel(local(date(2025, 2, 17), 9), tick=False):
        assert notices.send_due()["sent"] == 1  # the SMS; the beat never sends letters
        letter.refresh_from_db()
        assert letter.status == "queued"
        client.login(username="mkt", password=PASSWORD)
        response = client.get(f"/postloan/notices/{letter.pk}/letter.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    letter.refresh_from_db()
    assert letter.status == "sent"


@pytest.fixture
def smtp_server(settings):
    """A local SMTP server (aiosmtpd) that keeps what it receives; Django's SMTP backend points at it."""
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            self.messages.append(envelope)
            return "250 OK"

    import socket

    with socket.socket() as probe:  # a free port (the controller checks its server by connecting to the port given)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield handler
    controller.stop()


def test_an_email_notice_goes_through_djangos_email_backend_once(staff, active, smtp_server):
    run_batch(date(2025, 2, 11))
    sms = Notice.objects.get(loan=active)
    email = Notice.objects.create(loan=active, kind="pre_due", channel="email", due_date=sms.due_date,
                                  recipient="borrower@example.com", scheduled_for=sms.scheduled_for,
                                  created_on=sms.created_on)
    with time_machine.travel(local(date(2025, 2, 12), 9), tick=False):
        assert notices.send_due()["sent"] == 2  # the SMS (log channel: no gateway configured) and the e-mail
        assert notices.send_due()["sent"] == 0
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message.rcpt_tos == ["borrower@example.com"]
    assert f"X-Notice-Id: {email.pk}".encode() in message.content and b"2025-02-15" in message.content
    email.refresh_from_db()
    assert email.status == "sent"
