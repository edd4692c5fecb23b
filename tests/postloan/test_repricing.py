"""LPR-linked loans reprice in the nightly batch (SPEC §15, §16.31–33; issue 19 part 5).

The expected figures are worked out here, independently of postloan.repricing and postloan.schedule: the scheduled
principal left on the repricing date, re-amortised over the installments whose period starts on or after it, with
interest = balance × rate / 12 rounded half-up to the cent (exact fractions) and the annuity rounded to the cent.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from django.urls import reverse

from applications.lpr.services import lpr_confirm, lpr_file
from applications.models import Loan, Status
from postloan import batch
from postloan.models import Installment, Notice, Repricing
from postloan.services import repayment_post
from tests.api.conftest import drive
from tests.factories import LoanFactory, ProductFactory
from tests.postloan.test_batch_life import at, run_batch

APPROVED_ON = date(2025, 3, 10)
ANNIVERSARY = date(2026, 3, 10)
SPREAD = -20  # basis points: "LPR 减 20 个基点"


def cents(value) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else Decimal(value)


def half_up(value: Fraction) -> Decimal:
    """A non-negative amount in yuan (exact), rounded half-up to the cent."""
    hundredths = value * 100
    whole = hundredths.numerator // hundredths.denominator
    if (hundredths - whole) * 2 >= 1:
        whole += 1
    return Decimal(whole) / 100


def expected_tail(principal_left: Decimal, rate: Decimal, n: int, method: str) -> list[tuple[Decimal, Decimal]]:
    """(principal, interest) of the n repriced installments, worked out by hand-rules (SPEC §5)."""
    monthly = Fraction(rate) / 12
    payment = None
    if method == "equal_installment":
        r = Decimal(rate) / 12
        growth = (1 + r) ** n
        payment = (principal_left * r * growth / (growth - 1)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    while True:
        rows, balance, early = [], principal_left, False
        for k in range(1, n + 1):
            interest = half_up(Fraction(balance) * monthly)
            if k == n:
                principal = balance
            elif method == "equal_installment":
                principal = payment - interest
                early = early or principal >= balance
            else:  # equal principal
                principal = (principal_left / n).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            principal = min(principal, balance)
            rows.append((principal, interest))
            balance -= principal
        if not early:
            return rows
        payment -= Decimal("0.01")


def publish(staff, day: date, one_year: str, five_year: str, *, confirm: bool = True):
    with at(day, hour=10):
        publication = lpr_file(actor=staff.gen, published_on=day, lpr_1y=Decimal(one_year), lpr_5y=Decimal(five_year))
        if confirm:
            lpr_confirm(publication_id=publication.pk, actor=staff.boss)
    return publication


@pytest.fixture
def lpr_product(db):
    return ProductFactory(code="housing-lpr", category="housing", rate_type="lpr_5y", max_term_months=360,
                          min_rate=Decimal("0.020000"), max_rate=Decimal("0.080000"))


def lpr_loan(api, staff, customer, product, *, method: str = "equal_installment", repricing: str = "anniversary",
             term: int = 36, amount: str = "150000.00") -> Loan:
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, amount=Decimal(amount),
                       term_months=term, repayment_method=method, purpose="house_purchase")
    with at(APPROVED_ON, hour=10):
        drive(staff, loan, Status.UNDER_REVIEW)
        url = f"/api/loans/{loan.pk}/transitions/"
        terms = {"amount": amount, "term_months": term, "repayment_method": method, "spread_bp": SPREAD}
        response = api(staff.rev).post(url + "pass_review/", {**terms, "opinion": "合规"}, format="json")
        assert response.status_code == 200, response.json()
        response = api(staff.appr).post(url + "approve/", {**terms, "reason": "同意"}, format="json")
        assert response.status_code == 200, response.json()
        response = api(loan.marketing_officer).post(url + "sign_contract/", {
            "contract_no": f"HT{loan.pk:08d}", "signed_on": APPROVED_ON.isoformat(), "repricing": repricing},
            format="json")
        assert response.status_code == 200, response.json()
        return drive(staff, loan, Status.ACTIVE)


def pay_through(staff, loan: Loan, last_number: int) -> None:
    """The borrower pays each installment on its due date, up to ``last_number``."""
    for inst in loan.installments.filter(number__lte=last_number).order_by("number"):
        with at(inst.due_date, hour=10):
            repayment_post(loan_id=loan.pk, actor=staff.gen, amount=inst.principal + inst.interest,
                           paid_on=inst.due_date, reference=f"R{loan.pk}-{inst.number}")


def figures(loan: Loan) -> list[tuple]:
    return list(Installment.objects.filter(loan=loan).order_by("number").values_list(
        "number", "due_date", "principal", "interest", "paid_principal", "paid_interest", "status", "repriced_on"))


@pytest.fixture
def book(api, staff, customer, lpr_product):
    """An equal-installment 5-year-LPR loan at LPR 3.60 % − 20 bp = 3.40 %, paid up to its first anniversary; meanwhile
    the LPR moved to 3.50 % (confirmed) and a later 3.30 % was filed but never confirmed."""
    publish(staff, date(2025, 2, 20), "0.0310", "0.0360")
    loan = lpr_loan(api, staff, customer, lpr_product)
    publish(staff, date(2025, 10, 20), "0.0300", "0.0350")
    publish(staff, date(2026, 2, 20), "0.0280", "0.0330", confirm=False)  # a typo nobody confirmed
    pay_through(staff, loan, 12)
    return loan


def test_the_approval_keeps_the_lpr_the_spread_and_the_rate(api, staff, book):
    book.refresh_from_db()
    assert (book.rate_type, book.spread_bp, book.lpr_at_approval) == ("lpr_5y", -20, Decimal("0.036"))
    assert book.annual_rate == Decimal("0.034") == book.current_rate
    assert book.repricing_rule == "anniversary" and book.next_repricing_on == ANNIVERSARY
    body = api(staff.gen).get(f"/api/loans/{book.pk}/").json()
    assert (body["rate_type"], body["spread_bp"], body["next_repricing_on"]) == ("lpr_5y", -20, "2026-03-10")
    assert body["current_rate"] == "0.034"


def test_the_loan_reprices_on_its_anniversary_exactly_to_the_cent(api, staff, book):
    before = figures(book)
    run_batch(ANNIVERSARY - timedelta(days=1))
    assert figures(book) == before  # the day before: nothing

    run_batch(ANNIVERSARY)

    after = figures(book)
    assert after[:12] == before[:12]  # paid installments (the 12th is due on the anniversary itself) never change
    # The new rate: the LPR in force that day (3.50 %, not the unconfirmed 3.30 %) minus 20 bp.
    left = sum((row[2] for row in before[12:]), Decimal("0"))
    expected = expected_tail(left, Decimal("0.0330"), 24, "equal_installment")
    assert [(row[2], row[3]) for row in after[12:]] == expected
    assert all(row[7] == ANNIVERSARY for row in after[12:])
    assert [row[1] for row in after] == [row[1] for row in before]  # due dates stay
    assert sum(row[2] for row in after) == Decimal("150000.00")

    book.refresh_from_db()
    assert book.current_rate == Decimal("0.033") and book.next_repricing_on == date(2027, 3, 10)
    record = Repricing.objects.get(loan=book)
    assert (record.old_rate, record.new_rate, record.lpr, record.lpr_published_on, record.installments,
            record.first_number) == (Decimal("0.034"), Decimal("0.033"), Decimal("0.035"), date(2025, 10, 20), 24, 13)
    notice = Notice.objects.get(loan=book, kind="repriced")
    assert (notice.channel, notice.due_date, notice.status) == ("sms", ANNIVERSARY, "queued")
    schedule = api(staff.gen).get(f"/api/loans/{book.pk}/schedule/").json()
    assert [row["repriced_on"] for row in schedule[11:14]] == [None, "2026-03-10", "2026-03-10"]


def test_running_the_same_date_again_changes_nothing(staff, book):
    run_batch(ANNIVERSARY)
    once = figures(book)
    run_batch(ANNIVERSARY)  # the command again: the date is finished
    # and the chunk itself again (a worker retrying it): the loan's repricing date has moved on
    with at(ANNIVERSARY + timedelta(days=1)):
        batch.process_chunk(as_of=ANNIVERSARY, lo=0, hi=book.pk + 1, previous=ANNIVERSARY - timedelta(days=1))
    assert figures(book) == once
    assert Repricing.objects.filter(loan=book).count() == 1
    assert Notice.objects.filter(loan=book, kind="repriced").count() == 1


def test_a_clock_put_back_does_not_duplicate_the_record_or_the_notice(staff, book):
    """The clock is what moves a loan past its date. Were it put back (a restored backup, a hand edit in the database),
    the date runs again on the same figures, and the record and the notice stay one each instead of failing the chunk."""
    from postloan.models import RateClock

    run_batch(ANNIVERSARY)
    once = figures(book)
    RateClock.objects.filter(loan=book).update(next_repricing_on=ANNIVERSARY)
    with at(ANNIVERSARY + timedelta(days=1)):
        batch.process_chunk(as_of=ANNIVERSARY, lo=0, hi=book.pk + 1, previous=ANNIVERSARY - timedelta(days=1))
    assert figures(book) == once
    assert Repricing.objects.filter(loan=book).count() == 1
    assert Notice.objects.filter(loan=book, kind="repriced").count() == 1
    assert RateClock.objects.get(loan=book).next_repricing_on == date(2027, 3, 10)


def test_a_missed_night_is_caught_up(staff, book):
    run_batch(ANNIVERSARY - timedelta(days=1))
    run_batch(ANNIVERSARY + timedelta(days=1))  # the anniversary's night was missed: caught up in date order
    record = Repricing.objects.get(loan=book)
    assert (record.repriced_on, record.batch_date, record.new_rate) == (ANNIVERSARY, ANNIVERSARY, Decimal("0.033"))
    after = figures(book)
    left = sum((row[2] for row in after[12:]), Decimal("0"))
    assert [(row[2], row[3]) for row in after[12:]] == expected_tail(left, Decimal("0.0330"), 24, "equal_installment")


def test_an_overdue_installment_keeps_its_amounts(staff, api, customer, lpr_product):
    """Unpaid installments due before the repricing date keep their figures; equal principal re-shares the rest."""
    publish(staff, date(2025, 2, 20), "0.0310", "0.0360")
    loan = lpr_loan(api, staff, customer, lpr_product, method="equal_principal", repricing="january", term=24)
    publish(staff, date(2025, 12, 22), "0.0300", "0.0380")
    pay_through(staff, loan, 8)  # the 9th (due 2025-12-10) and the 10th (2026-01-10, period from 2025-12-10) unpaid
    before = figures(loan)
    run_batch(date(2026, 1, 1))
    after = figures(loan)
    assert after[:10] == before[:10]  # paid, overdue and the one whose period began before 1 January
    left = sum((row[2] for row in before[10:]), Decimal("0"))
    assert [(row[2], row[3]) for row in after[10:]] == expected_tail(left, Decimal("0.0360"), 14, "equal_principal")
    loan.refresh_from_db()
    assert loan.next_repricing_on == date(2027, 1, 1) and loan.current_rate == Decimal("0.036")


def test_a_fixed_rate_loan_never_reprices(staff, draft):
    with at(APPROVED_ON, hour=10):
        loan = drive(staff, draft, Status.ACTIVE)
    assert loan.next_repricing_on is None and loan.current_rate == Decimal("0.0435")
    before = figures(loan)
    run_batch(date(2026, 1, 1))
    assert figures(loan) == before and not Repricing.objects.exists()


def test_the_loan_page_shows_the_pricing_and_marks_the_repriced_installments(client, staff, book):
    run_batch(ANNIVERSARY)
    client.force_login(staff.gen)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    with at(ANNIVERSARY + timedelta(days=1), hour=10):
        html = client.get(f"/loans/{book.pk}/").content.decode()
        full = client.get(f"/loans/{book.pk}/schedule/").content.decode()
    assert 'data-testid="rate-type">5-year LPR + spread<' in html
    assert "LPR minus 20 basis points" in html and "published 2025-02-20 at approval" in html
    assert 'data-testid="current-rate">0.0330<' in html and 'data-testid="next-repricing">2027-03-10<' in html
    assert 'data-installment="12" data-repriced' not in full
    assert 'data-installment="13" data-repriced="2026-03-10"' in full


def test_the_receipt_and_the_contract_state_lpr_spread_and_repricing(client, staff, book):
    from tests.archive.conftest import PDFTOTEXT, pdf_text

    client.force_login(staff.gen)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})  # papers as the borrower reads them
    for paper in ("receipt", "contract"):
        response = client.get(f"/loans/{book.pk}/{paper}.pdf")
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        if PDFTOTEXT:
            text = "".join(pdf_text(response.content).split())  # pdftotext breaks lines anywhere in Chinese
            assert "LPR减20个基点" in text and "2025-02-20" in text and "3.60%" in text and "3.40%" in text
            assert "每年贷款发放日对应日" in text


def test_the_borrower_is_told_the_new_rate(staff, book):
    from postloan.notices import fill, text_of

    run_batch(ANNIVERSARY)
    notice = Notice.objects.select_related("loan", "loan__customer").get(loan=book, kind="repriced")
    fill(notice)
    text = text_of(notice)
    assert "2026-03-10" in text and "3.3%" in text and "3.4%" in text and "2025-10-20" in text and "-20" in text
    assert notice.recipient == book.customer.phone


def test_a_half_cent_of_interest_rounds_up_after_repricing(staff, api, customer, lpr_product):
    """SPEC §5 at an exact half cent: repriced to 4.00 % (LPR 4.20 % − 20 bp), a balance of k × 1,501.50 yuan bears
    k × 5.005 of interest a month, so every odd k is a half cent, rounded up (issue 19: 5.01, not 5.00)."""
    publish(staff, date(2025, 2, 20), "0.0310", "0.0360")
    loan = lpr_loan(api, staff, customer, lpr_product, method="equal_principal", repricing="january", term=24,
                    amount="36036.00")  # 24 × 1,501.50
    publish(staff, date(2025, 12, 22), "0.0300", "0.0420")
    pay_through(staff, loan, 9)
    before = figures(loan)
    run_batch(date(2026, 1, 1))
    after = figures(loan)
    assert after[:10] == before[:10]
    left = sum((row[2] for row in before[10:]), Decimal("0"))
    assert left == Decimal("1501.50") * 14
    expected = expected_tail(left, Decimal("0.0400"), 14, "equal_principal")
    assert [(row[2], row[3]) for row in after[10:]] == expected
    # The half cents are there, and rounded up: 14 × 1,501.50 → 70.07, …, 1 × 1,501.50 → 5.01.
    halves = [Fraction(Decimal("1501.50")) * k * Fraction("0.04") / 12 * 100 for k in range(14, 0, -1)]
    assert sum(1 for h in halves if h.denominator == 2) == 7
    assert [row[3] for row in after[10:]][-1] == Decimal("5.01")
    assert [row[3] for row in after[10:]][-3] == Decimal("15.02")  # 3 × 5.005 = 15.015
    assert sum(row[2] for row in after) == Decimal("36036.00")


def test_a_loan_with_nothing_due_after_its_repricing_date_stops_repricing(staff, book):
    """A clock whose date comes after the loan's last installment (the loan ran past it unrepriced): nothing
    reprices, no record or notice, the rate stays, and the clock stops (no date) instead of being due every night."""
    from postloan.models import RateClock

    RateClock.objects.filter(loan=book).update(next_repricing_on=date(2028, 4, 1))  # last due date: 2028-03-10
    before = [row[:4] for row in figures(book)]
    with at(date(2028, 4, 2)):
        batch.process_chunk(as_of=date(2028, 4, 1), lo=0, hi=book.pk + 1, previous=date(2028, 3, 31))
    assert [row[:4] for row in figures(book)] == before
    assert not Repricing.objects.filter(loan=book).exists()
    assert not Notice.objects.filter(loan=book, kind="repriced").exists()
    clock = RateClock.objects.get(loan=book)
    assert (clock.current_rate, clock.next_repricing_on) == (Decimal("0.034"), None)


@pytest.fixture
def three(api, staff, customer, lpr_product):
    """Three loans on the anniversary rule (two annuity, one equal principal), paid up to their first anniversary,
    the LPR moved meanwhile; with their figures before it."""
    publish(staff, date(2025, 2, 20), "0.0310", "0.0360")
    loans = [lpr_loan(api, staff, customer, lpr_product, method=method, amount=amount)
             for method, amount in [("equal_installment", "60000.00"), ("equal_principal", "50000.00"),
                                    ("equal_installment", "40000.00")]]
    publish(staff, date(2025, 10, 20), "0.0300", "0.0350")
    for loan in loans:
        pay_through(staff, loan, 12)
    return [(loan, figures(loan)) for loan in loans]


def assert_repriced(loan: Loan, before: list[tuple]) -> None:
    after = figures(loan)
    assert after[:12] == before[:12]
    left = sum((row[2] for row in before[12:]), Decimal("0"))
    assert [(row[2], row[3]) for row in after[12:]] == expected_tail(left, Decimal("0.0330"), 24, loan.repayment_method)
    assert Repricing.objects.filter(loan=loan).count() == 1
    assert Notice.objects.filter(loan=loan, kind="repriced").count() == 1
    loan.refresh_from_db()
    assert loan.next_repricing_on == date(2027, 3, 10)


def test_a_chunk_with_more_due_loans_than_a_part_reprices_every_one_of_them(monkeypatch, three):
    """A chunk whose due loans outnumber a part (``repricing._PART``, 20,000 in production) is repriced part by part,
    each a range of ids: every loan of every part gets its new figures, exact to the cent, and one record and one
    notice; none is left for the next night."""
    from postloan import repricing

    monkeypatch.setattr(repricing, "_PART", 1)  # one id a part: each loan in a part of its own

    run_batch(ANNIVERSARY)

    for loan, before in three:
        assert_repriced(loan, before)


def test_a_chunk_with_no_more_due_loans_than_a_part_reprices_them_wherever_they_are(monkeypatch, three):
    """An anniversary night's few due loans in a chunk run as one part, the whole chunk: the due loan with the chunk's
    highest id is repriced too, and the others, not due, keep their figures."""
    from postloan import repricing
    from postloan.models import RateClock

    (first, first_before), (second, second_before), (last, last_before) = three
    RateClock.objects.filter(loan__in=[first, second]).update(next_repricing_on=date(2026, 9, 1))
    monkeypatch.setattr(repricing, "_PART", 1)  # one due loan: not more than a part

    run_batch(ANNIVERSARY)

    assert_repriced(last, last_before)
    assert figures(first) == first_before and figures(second) == second_before
    assert not Repricing.objects.filter(loan__in=[first, second]).exists()
