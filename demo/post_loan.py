"""Demo loans after disbursement: taken through every step at past dates with the real services, repaid on
time, late or not at all, with the nightly batch run for every day in between (so penalties, tiers, grades,
collection cases and snapshots are the batch's own work, not written by hand)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from applications.files.previews import document_make_preview
from applications.files.samples import demo_files, sample_pdf, store_sample
from applications.models import Customer, Loan, Product
from applications.services import ApplicationInput, loan_create
from demo.loans import collateral_for, cosign, payload_for, pick_borrower, travel
from disbursement.services import certificate_hand_over, registration_apply
from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.models import User
from loancenter.transitions import perform
from postloan.bureau import authorisations, credit_query_record
from postloan.models import WarningLevel
from postloan.services import loan_settle, repayment_post
from postloan.tasks import batch_start
from postloan.warnings import warning_level_set


@dataclass(frozen=True)
class Story:
    label: str
    product: str
    amount: str
    term: int
    days_ago: int  # disbursed this many days before today
    paid: int | None  # installments paid; None = every one that falls due
    late_days: int = 0  # each payment this many days after its due date
    officer: str = "mkt1"
    settle: bool = False


STORIES = [
    Story("never paid: 损失, T3", "consumer", "60000", 24, 430, paid=0),
    Story("stopped after 2: 可疑, T3", "consumer", "50000", 24, 400, paid=2, officer="mkt2"),
    Story("stopped after 6: 次级, T3", "business", "120000", 36, 400, paid=6),
    Story("stopped after 4: 关注, T2", "consumer", "80000", 36, 200, paid=4, officer="mkt2"),
    Story("stopped after 5: 关注, T1", "auto", "150000", 36, 200, paid=5),
    Story("pays 9 days late every month", "consumer", "40000", 24, 300, paid=None, late_days=9, officer="mkt2"),
    Story("always on time", "housing", "900000", 240, 380, paid=None),
    Story("always on time", "consumer", "30000", 12, 120, paid=None, officer="mkt2"),
    Story("always on time", "business", "200000", 36, 90, paid=None),
    Story("repaid in full and settled", "consumer", "20000", 6, 240, paid=None, settle=True),
]


def _at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def _disburse(story: Story, product: Product, borrower: Customer, term: int, day: date, rng: random.Random,
              staff: dict[str, User]) -> Loan:
    """Application to active on ``day`` and the working days before it, through the services."""
    start = day - timedelta(days=6)
    amount = Decimal(story.amount)
    with travel(_at(start)):
        loan = loan_create(actor=staff[story.officer], data=ApplicationInput(
            customer=borrower, product=product, amount=amount, term_months=term,
            repayment_method=product.repayment_methods[0], purpose=(product.allowed_purposes or ["home_renovation"])[0],
            interviewed_on=today(), credit_authorised=True,
            collaterals=collateral_for(rng, product, borrower, amount, today()), documents=list(product.required_documents),
        ))
        demo_files(loan, by=staff[story.officer], photos_by=staff["inv1"], photos=1)  # rule 5 reads files
    steps = [("submit", story.officer), ("start_investigation", "inv1"), ("complete_investigation", "inv1"),
             ("pass_review", "rev1"), ("approve", "appr1" if amount <= Decimal("300000") else None)]
    for offset, (name, who) in enumerate(steps):
        loan.refresh_from_db()
        with travel(_at(start + timedelta(days=offset // 2), 9 + offset)):
            if who is None:  # above the approver's limit: escalate, the branch approves
                perform("escalate", loan_id=loan.pk, actor=staff["appr1"], data={"reason": "超出本级授权,报分行审批。"})
                loan.refresh_from_db()
                who = "branch1"
            perform(name, loan_id=loan.pk, actor=staff[who], data=payload_for(name, loan))
        if name == "complete_investigation" and product.dual_investigation:
            cosign(loan, staff, at=_at(start + timedelta(days=offset // 2), 9 + offset) + timedelta(minutes=2))
    with travel(_at(day - timedelta(days=2))):
        perform("sign_contract", loan_id=loan.pk, actor=staff[story.officer],
                data={"contract_no": f"HZ{day:%Y%m%d}{loan.pk:04d}", "signed_on": today().isoformat()})
        if product.secured:
            registration_apply(loan_id=loan.pk, actor=staff["clerk1"], registry="杭州市不动产登记中心", applied_on=today())
    if product.secured:
        with travel(_at(day - timedelta(days=1))):
            perform("register_collateral", loan_id=loan.pk, actor=staff["clerk1"],
                    data={"registry": "杭州市不动产登记中心", "registered_on": today().isoformat(),
                          "certificate_no": f"浙({day.year})杭州市不动产证明第{loan.pk:07d}号"})
            certificate_hand_over(loan_id=loan.pk, actor=staff["clerk1"], to_user=staff["disb1"])
    with travel(_at(day, 9)):
        perform("prepare_receipt", loan_id=loan.pk, actor=staff["rev1"], data={"value_date": today().isoformat()})
    with travel(_at(day, 11)):
        perform("disburse", loan_id=loan.pk, actor=staff["disb1"],
                data={"disbursed_on": today().isoformat(), "payee_account": f"62220{loan.pk:014d}",
                      "payment_mode": "entrusted"})
    loan.refresh_from_db()
    return loan


def _batch_through(day: date) -> None:
    with travel(_at(day + timedelta(days=1), 1)):
        batch_start(as_of=day)


def seed_post_loan(*, rng: random.Random, staff: dict[str, User], products: dict[str, Product],
                   customers: list[Customer]) -> list[Loan]:
    end = today() - timedelta(days=1)
    candidates = list(customers)
    loans: list[tuple[Story, Loan]] = []
    for story in STORIES:
        product = products[story.product]
        day = today() - timedelta(days=story.days_ago)
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        method = product.repayment_methods[0]
        borrower, term = pick_borrower(candidates, product, Decimal(story.amount), story.term, method, day)
        candidates.remove(borrower)
        loans.append((story, _disburse(story, product, borrower, term, day, rng, staff)))

    # Every payment, in date order, with the nightly batch run for every day before it.
    payments: list[tuple[date, Story, Loan, int]] = []
    for story, loan in loans:
        for inst in loan.installments.order_by("number"):
            if story.paid is not None and inst.number > story.paid:
                break
            paid_on = inst.due_date + timedelta(days=story.late_days)
            if paid_on <= end:
                payments.append((paid_on, story, loan, inst.number))
    payments.sort(key=lambda p: (p[0], p[2].pk, p[3]))
    first = min(loan.disbursement.disbursed_on for _s, loan in loans)
    _batch_through(first)
    for paid_on, story, loan, number in payments:
        _batch_through(paid_on - timedelta(days=1))
        inst = loan.installments.get(number=number)
        with travel(_at(paid_on, 15)):
            if inst.total_due > 0:
                repayment_post(loan_id=loan.pk, actor=staff["gen1"], amount=inst.total_due, paid_on=today(),
                               reference=f"CB{paid_on:%Y%m%d}{loan.pk:05d}{number:03d}")
            loan.refresh_from_db()
            if story.settle and loan.oldest_unpaid_due is None:
                loan_settle(loan_id=loan.pk, actor=staff["gen1"])
    _post_loan_queries(loans, staff, end)
    _batch_through(end)
    return [loan for _s, loan in loans]


def _post_loan_queries(loans: list[tuple[Story, Loan]], staff: dict[str, User], day: date) -> None:
    """The officers' post-loan credit-bureau queries on the borrowers who stopped paying, each relying on the
    borrower's credit-report authorisation filed with the loan (SPEC rule 22: the authorisation is a file), with the
    report filed in the borrower's folder that day. Recorded on the customer, not the loan, so that each loan's history
    stays in date order."""
    for story, loan in loans:
        if story.paid is None or story.settle:
            continue
        officer = staff[story.officer]
        document = next(iter(authorisations(officer, loan.customer_id)), None)
        if document is None:
            continue
        unpaid = loan.installments.filter(due_date__lte=day, paid_off_on__isnull=True)
        oldest = unpaid.order_by("due_date").values_list("due_date", flat=True).first()
        with travel(_at(day, 16)):
            # The report as the officer files it in the customer's folder, then attached to the query (SPEC §12).
            report = store_sample(customer_id=loan.customer_id, code="credit_report", by=officer,
                                  content=sample_pdf(f"{loan.application_no} credit report {day:%Y-%m-%d}",
                                                     size=(420, 595)), name=f"credit-report-{day:%Y%m%d}.pdf")
            document_make_preview(report.pk)
            credit_query_record(
                customer_id=loan.customer_id, actor=officer, purpose="post_loan", authorisation_document=document.pk,
                summary="征信显示本行贷款逾期未还,无其他新增负债。", overdue_count_24m=unpaid.count(),
                worst_dpd=(day - oldest).days if oldest else 0, queries_6m=2, new_debt=Decimal("0.00"),
                report_document=report.pk)


# The demo's levels: tight enough on overdue and NPL that the demo portfolio breaches them.
DEMO_LEVELS = [
    ("overdue_rate", "0.0500", WarningLevel.ABOVE),
    ("npl_rate", "0.0200", WarningLevel.ABOVE),
    ("bad_debt_rate", "0.0100", WarningLevel.ABOVE),
    ("interest_collection_rate", "0.9500", WarningLevel.BELOW),
    ("recovery_rate", "0.0500", WarningLevel.BELOW),
]


def seed_warnings(staff: Iterable) -> list[WarningLevel]:
    """Demo warning levels, set by the demo's center manager (nothing when there is none or levels exist)."""
    manager = next((u for u in staff if u.has_post(P.MANAGER)), None)
    if manager is None or WarningLevel.objects.exists():
        return []
    return [warning_level_set(actor=manager, figure=f, threshold=Decimal(t), direction=d) for f, t, d in DEMO_LEVELS]
