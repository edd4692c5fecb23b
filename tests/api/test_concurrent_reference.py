"""The same new payment reference sent to two loans at once: one 201, one 409 (SPEC §10; issue 13 finding 12).

Two real HTTP requests to a live server on PostgreSQL. To make them meet at the worst moment every time, the test
holds a SHARE lock on the repayment table (reads go on, inserts wait) until both requests are waiting to insert their
row; then it lets go: one inserts and commits, the other finds the reference taken (an IntegrityError, a 500, before).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from django.db import connection, transaction
from rest_framework.authtoken.models import Token

from applications.models import Loan, Status
from loancenter.lib.dates import today
from loancenter.models import RefusedAttempt
from postloan.models import Repayment
from tests.factories import CustomerFactory, LoanFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: set DATABASE_URL"),
]


def _post(url: str, token: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text)
        except ValueError:
            return error.code, {"body": text[:200].decode(errors="replace")}


def _waiting_inserts() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE relation = 'postloan_repayment'::regclass AND NOT granted")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.sidedoor(rule="input", path="api: POST /api/loans/{id}/repayments/ (one reference, two loans at once)")
def test_one_new_reference_sent_to_two_loans_at_once_gives_one_201_and_one_409(live_server, staff, flow, product):
    loans = [flow.advance(LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product,
                                      marketing_officer=staff.mkt), Status.ACTIVE) for _ in range(2)]
    token = Token.objects.create(user=staff.gen).key
    body = {"amount": "1000.00", "paid_on": today().isoformat(), "reference": "CB-TWIN-0001"}
    results: dict[int, tuple[int, dict]] = {}

    def send(loan: Loan) -> None:
        results[loan.pk] = _post(f"{live_server.url}/api/loans/{loan.pk}/repayments/", token, body)

    threads = [threading.Thread(target=send, args=(loan,)) for loan in loans]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE postloan_repayment IN SHARE MODE")
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while _waiting_inserts() < 2:
            assert time.monotonic() < deadline, "the two requests never reached their insert"
            time.sleep(0.05)
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(status for status, _body in results.values())
    assert statuses == [201, 409], results
    (loser_id, (_status, loser_body)), = [(pk, r) for pk, r in results.items() if r[0] == 409]
    assert loser_body["code"] == "reference_reused"
    winner_id = next(pk for pk in results if pk != loser_id)
    assert list(Repayment.objects.values_list("loan_id", "reference")) == [(winner_id, "CB-TWIN-0001")]
    assert Loan.objects.get(pk=loser_id).outstanding_principal == Loan.objects.get(pk=loser_id).approved_amount
    refusal = RefusedAttempt.objects.order_by("-id").first()
    assert (refusal.action, refusal.loan_id_ref, refusal.code) == ("repayment", loser_id, "reference_reused")
