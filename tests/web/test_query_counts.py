"""Every page reads the database a fixed number of times, whatever the size of the book (issue 14).

Each test opens a page with one row of what the page lists, then with thirty (loans, installments, customers…), and
asserts the same number of queries both times, below a pin. The first request of a session saves its refresh time
(loancenter/sessions.py), so each page is opened once before counting.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from applications.models import STAGE, Investigation, Loan, Status
from loancenter.lib.dates import today
from postloan.services import repayment_post
from tests.factories import CustomerFactory, LoanFactory, ProductFactory, SecuredProductFactory, add_guarantor

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("long_refresh")]


@pytest.fixture
def long_refresh():
    with override_settings(SESSION_REFRESH_SECONDS=900):  # no session save between the two counts
        yield


def queries(client, url: str, status: int = 200) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == status, url
    return len(captured.captured_queries)


def counted(client, url: str) -> int:
    client.get(url)  # the session's first refresh, the navigation drawn once
    return queries(client, url)


def loans_in(status: str, n: int, *, officer, product=None, **fields) -> list[Loan]:
    """``n`` loans standing in ``status`` (moved there directly: the queue reads states, not their history)."""
    product = product or ProductFactory()
    made = [LoanFactory(customer=CustomerFactory(officer=officer), product=product, marketing_officer=officer)
            for _ in range(n)]
    Loan.objects.filter(pk__in=[loan.pk for loan in made]).update(status=status, stage_reached=STAGE[status], **fields)
    return made


# ---------------------------------------------------------------------------------------------------------------
# The work queue, post by post

QUEUES = {
    "mkt": (Status.DRAFT, {}),
    "inv": (Status.SUBMITTED, {}),
    "rev": (Status.UNDER_REVIEW, {}),
    "appr": (Status.PENDING_APPROVAL, {}),
    "branch": (Status.PENDING_BRANCH_APPROVAL, {}),
    "clerk": (Status.CONTRACT_SIGNED, {"secured": True}),
    "disb": (Status.READY_TO_DISBURSE, {}),
    "boss": (Status.PENDING_APPROVAL, {}),
}
QUEUE_PIN = 6  # session, user, posts; the queue's counts, the page's ids, its rows
# Approvers deciding with a limit: one more, the page's exposures for the over-limit flag (issue 15, part 7).
DECIDING = {"appr", "branch"}
COLLECTOR_PIN = QUEUE_PIN + 3  # marketing and general: their post-loan queues' counts (checks, signals, promises)
# One COUNT per queue badge of the post's home (issue 15 part 1, loancenter.menu), whatever the number of loans;
# the loan queue's own badges reuse the queue's counts.
BADGE_QUERIES = {
    "appr": 1,  # write-offs to approve
    "boss": 5,  # collection cases, write-offs, grade changes, staff requests, hand-overs
    "branch": 0,
    "clerk": 1,  # the registration ledger's open lines
    "disb": 1,  # approved prepayments waiting for the money
    "inv": 0,
    "mkt": 3,  # T1 collection cases; open checks; open signals
    "rev": 4,  # servicing requests, write-offs, grade changes; checks to sign off
}


@pytest.mark.parametrize("persona", sorted(QUEUES))
def test_work_queue_reads_the_same_for_one_loan_and_thirty(client, staff, persona):
    status, kind = QUEUES[persona]
    product = SecuredProductFactory() if kind.get("secured") else ProductFactory()
    user = getattr(staff, persona)
    client.force_login(user)
    loans_in(status, 1, officer=staff.mkt, product=product)
    one = counted(client, reverse("home"))
    loans_in(status, 29, officer=staff.mkt, product=product)
    thirty = queries(client, reverse("home"))
    response = client.get(reverse("home"))
    assert len(response.context["loans"]) == 30
    assert one == thirty <= (COLLECTOR_PIN if user.has_any_post("marketing", "general") else QUEUE_PIN) + (persona in DECIDING) + BADGE_QUERIES[persona]


def test_investigators_queue_with_their_rounds_reads_the_same_for_one_loan_and_thirty(client, staff):
    client.force_login(staff.inv)

    def investigating(n):
        for loan in loans_in(Status.INVESTIGATING, n, officer=staff.mkt):
            Investigation.objects.create(loan=loan, assignee=staff.inv, field_visit_required=False)

    investigating(1)
    one = counted(client, reverse("home"))
    investigating(29)
    assert queries(client, reverse("home")) == one <= QUEUE_PIN
    assert len(client.get(reverse("home")).context["loans"]) == 30


# ---------------------------------------------------------------------------------------------------------------
# The loan page and its schedule

LOAN_PAGE_PIN = 22  # the loan and its rows, role facts, the buttons' rules, the rows after approval, the files (§11),
# the credit reports the investigation relied on (§12)
DRAFT_PAGE_PIN = 11  # with the gallery of its files (SPEC §11)
SCHEDULE_PIN = 6  # session, user, posts, the loan, its installments, the book date


@pytest.fixture
def two_active(flow, staff, product):
    """An active loan of 12 installments and one of 36 with three repayments and two guarantors."""
    short = flow.advance(LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product,
                                     marketing_officer=staff.mkt, term_months=12), Status.ACTIVE)
    long = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt,
                       term_months=36)
    for _ in range(2):
        add_guarantor(long, CustomerFactory(officer=staff.mkt))
    long = flow.advance(long, Status.ACTIVE)
    for n in range(3):
        repayment_post(loan_id=long.pk, actor=staff.gen, amount=Decimal("100.00"), paid_on=today(),
                       reference=f"QC-{n}")
    return short, long


@pytest.mark.parametrize("persona", ["mkt", "gen", "boss"])
def test_loan_page_reads_the_same_for_twelve_installments_and_thirty_six(client, staff, two_active, persona):
    short, long = two_active
    client.force_login(getattr(staff, persona))
    one = counted(client, reverse("loan-detail", args=[short.pk]))
    assert queries(client, reverse("loan-detail", args=[long.pk])) == one <= LOAN_PAGE_PIN


def test_draft_loan_page_reads_the_same_for_one_guarantor_and_five(client, staff, product):
    client.force_login(staff.mkt)
    few = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
    add_guarantor(few, CustomerFactory(officer=staff.mkt))
    many = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
    for _ in range(5):
        add_guarantor(many, CustomerFactory(officer=staff.mkt))
    one = counted(client, reverse("loan-detail", args=[few.pk]))
    assert queries(client, reverse("loan-detail", args=[many.pk])) == one <= DRAFT_PAGE_PIN


def test_schedule_page_reads_the_same_for_twelve_installments_and_thirty_six(client, staff, two_active):
    short, long = two_active
    client.force_login(staff.mkt)
    one = counted(client, reverse("loan-schedule", args=[short.pk]))
    assert queries(client, reverse("loan-schedule", args=[long.pk])) == one <= SCHEDULE_PIN


# ---------------------------------------------------------------------------------------------------------------
# The dashboard (with the portfolio), the customer page, the lists


def test_dashboard_reads_the_same_for_one_pending_loan_and_thirty(client, staff):
    client.force_login(staff.boss)
    loans_in(Status.PENDING_APPROVAL, 1, officer=staff.mkt, status_changed_at=timezone.now() - timedelta(days=5))
    one = counted(client, reverse("dashboard"))
    loans_in(Status.PENDING_APPROVAL, 29, officer=staff.mkt)
    # 17, monitoring (2 + the restructured loans 1), the cut's filter choices (4), today's live figures
    # (disbursements, applications, repayments: 3; issue 15 part 3)
    assert queries(client, reverse("dashboard")) == one <= 27
    assert len(client.get(reverse("dashboard")).context["board"].pending) == 30


def test_portfolio_api_reads_the_same_for_one_loan_and_thirty(client, staff):
    client.force_login(staff.boss)
    loans_in(Status.ACTIVE, 1, officer=staff.mkt, outstanding_principal=Decimal("1000.00"))
    one = counted(client, "/api/reports/portfolio/")
    loans_in(Status.ACTIVE, 29, officer=staff.mkt, outstanding_principal=Decimal("1000.00"))
    assert queries(client, "/api/reports/portfolio/") == one <= 14


def test_customer_page_reads_the_same_for_one_loan_and_thirty(client, staff, product):
    client.force_login(staff.mkt)
    customer = CustomerFactory(officer=staff.mkt)
    guarantor_of = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
    add_guarantor(guarantor_of, customer)
    LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
    url = reverse("customer-detail", args=[customer.pk])
    one = counted(client, url)
    for _ in range(29):
        LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
    assert queries(client, url) == one <= 8


# The loan list reads two more: its filters' product and officer choices (issue 15 part 12).
@pytest.mark.parametrize("page,most", [("loan-list", 7), ("customer-list", 5), ("product-list", 5)])
def test_list_page_reads_the_same_for_one_row_and_thirty(client, staff, page, most):  # 30 loans, customers, products
    client.force_login(staff.mkt)
    product = ProductFactory()
    LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
    one = counted(client, reverse(page))
    for _ in range(29):
        LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=ProductFactory(), marketing_officer=staff.mkt)
    assert queries(client, reverse(page)) == one <= most
