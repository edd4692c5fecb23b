"""Sorting, filters and export on every queue a post opens from the menu (issue 15 part 12), through the page a person
uses: the home work queue, the archive queue, the checks-and-signals queue and the pending post-loan requests.

Each test opens the page, submits the filter form the page rendered (with a product, officer, state, amount or date
chosen among the options it offers), and reads the rows the page then shows; a sort changes their order; the CSV and
Excel downloads hold the filtered rows under Chinese headers; a filter that cannot be applied is a 400 naming the
field, with no rows; and no filter shows anything outside what the reader may see.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from applications.models import STAGE, Loan, Status
from loancenter.services import staff_create
from postloan.models import ServicingRequest
from postloan.servicing import servicing_file
from tests.api.conftest import drive
from tests.factories import CustomerFactory, LoanFactory, ProductFactory
from tests.support.forms import rendered_form

pytestmark = pytest.mark.django_db

HEADER = ["申请编号", "客户", "产品", "客户经理", "状态"]  # the loan columns, in the reader's language


def chinese(client):
    client.cookies["django_language"] = "zh-hans"
    return client


def get(client, url, data=None):
    return client.get(url, data or {}, headers={"accept-language": "zh-hans"})


def submit(client, url: str, **choices):
    """Open ``url``, fill its filter form as a person would (a select's value must be one of its options) and send
    it. Returns the response."""
    page = get(client, url)
    assert page.status_code == 200, page.status_code
    html = page.content.decode()
    form = rendered_form(html, testid="loan-filters", method="get")
    data = form.data
    for name, value in choices.items():
        select = re.search(rf'<select name="{name}">(.*?)</select>', html, re.S)
        if select is not None:
            assert f'value="{value}"' in select.group(1), f"{name}={value} is not offered"
        else:
            assert name in data, f"the form has no field {name}"
        data[name] = [str(value)]
    return get(client, form.action or url, data)


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    body = response.content if not response.streaming else b"".join(response.streaming_content)
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _xlsx(response) -> list[tuple]:
    assert response.status_code == 200
    return list(load_workbook(io.BytesIO(response.content)).active.values)


def refused(client, url: str, field_label: str, **bad):
    """A filter that cannot be applied: the page and the download answer 400, naming the field, with no rows."""
    page = get(client, url, bad)
    assert page.status_code == 400
    html = page.content.decode()
    errors = re.search(r'data-testid="filter-errors">(.*?)</ul>', html, re.S)
    assert errors is not None and field_label in errors.group(1)  # the field named beside its error
    download = get(client, url, {**bad, "format": "csv"})
    assert download.status_code == 400 and field_label in download.content.decode()
    return page


@pytest.fixture
def products(db):
    return ProductFactory(code="consumer", name="消费贷款"), ProductFactory(code="car", name="汽车贷款")


def make(staff, officer, product, amount: str, name: str) -> Loan:
    return LoanFactory(customer=CustomerFactory(officer=officer, name=name), product=product,
                       marketing_officer=officer, amount=Decimal(amount))


# ---------------------------------------------------------------------------------------------------------------
# The home work queue


@pytest.fixture
def waiting(staff, products):
    """Three loans waiting for the approver: two of mkt (one applied for 40 days ago), one of mkt2."""
    consumer, car = products
    loans = {"small": make(staff, staff.mkt, consumer, "20000.00", "甲"),
             "large": make(staff, staff.mkt, car, "180000.00", "乙"),
             "theirs": make(staff, staff.mkt2, consumer, "90000.00", "丙")}
    now = timezone.now()
    for age, loan in zip((40, 20, 10), loans.values(), strict=True):
        Loan.objects.filter(pk=loan.pk).update(status=Status.PENDING_APPROVAL, stage_reached=STAGE["pending_approval"],
                                               created_at=now - timedelta(days=age),
                                               status_changed_at=now - timedelta(days=age))
    loans["draft"] = make(staff, staff.mkt, consumer, "50000.00", "丁")  # mkt's own queue
    loans["draft2"] = make(staff, staff.mkt2, consumer, "60000.00", "戊")
    return {k: str(v) for k, v in loans.items()}


def home_rows(response) -> list[str]:
    assert response.status_code == 200, response.content.decode()[:300]
    return [str(loan) for loan in response.context["loans"]]


def test_the_home_queue_filters_sorts_and_exports_through_its_form(login, staff, waiting, products):
    consumer, car = products
    client = chinese(login(staff.boss))
    home = reverse("home")
    html = get(client, home).content.decode()
    assert 'data-testid="queue-filters"' in html and "<details" in html  # folded under the queue's heading
    assert home_rows(get(client, home)) == [waiting[k] for k in ("small", "large", "theirs")]  # oldest first
    assert home_rows(submit(client, home, product=car.pk)) == [waiting["large"]]
    assert home_rows(submit(client, home, officer=staff.mkt2.pk)) == [waiting["theirs"]]
    assert home_rows(submit(client, home, amount_min="50000", amount_max="100000")) == [waiting["theirs"]]
    assert home_rows(submit(client, home, status="pending_approval", product=consumer.pk)) == [
        waiting["small"], waiting["theirs"]]
    assert home_rows(submit(client, home, status="draft")) == []
    day = timezone.localdate()
    assert home_rows(submit(client, home, created_to=str(day - timedelta(days=30)))) == [waiting["small"]]
    assert home_rows(submit(client, home, changed_from=str(day - timedelta(days=15)))) == [waiting["theirs"]]
    assert home_rows(submit(client, home, sort="amount_desc")) == [waiting[k] for k in ("large", "theirs", "small")]
    filtered = submit(client, home, product=consumer.pk)
    assert 'data-testid="filtered-count"' in filtered.content.decode()
    assert "<details class=\"list-filters\" data-testid=\"queue-filters\" open>" in filtered.content.decode()

    rows = _csv(get(client, home, {"product": consumer.pk, "sort": "amount_asc", "format": "csv"}))
    assert rows[0][:5] == HEADER
    assert [r[0] for r in rows[1:]] == [waiting["small"], waiting["theirs"]]
    assert rows[1][2] == "消费贷款" and rows[1][4] == "待审批"
    sheet = _xlsx(get(client, home, {"officer": staff.mkt2.pk, "format": "xlsx"}))
    assert list(sheet[0][:5]) == HEADER and len(sheet) == 2 and sheet[1][0] == waiting["theirs"]
    assert sheet[1][5] == 90000  # a number, not text


def test_a_bad_home_filter_is_a_400_naming_the_field_and_listing_nothing(login, staff, waiting):
    client = chinese(login(staff.boss))
    page = refused(client, reverse("home"), "金额下限", amount_min="abc")
    assert page.context["loans"] == []
    refused(client, reverse("home"), "产品", product="999999999")
    assert get(client, reverse("home"), {"sort": "-dpd"}).status_code == 400


def test_no_home_filter_reaches_outside_the_readers_queue(login, staff, waiting):
    client = chinese(login(staff.mkt))
    assert home_rows(get(client, reverse("home"))) == [waiting["draft"]]
    assert home_rows(get(client, reverse("home"), {"officer": staff.mkt2.pk})) == []  # mkt2's draft stays out
    rows = _csv(get(client, reverse("home"), {"officer": staff.mkt2.pk, "format": "csv"}))
    assert rows == [rows[0]]  # the header alone
    assert [r[0] for r in _csv(get(client, reverse("home"), {"format": "csv"}))[1:]] == [waiting["draft"]]


def test_the_home_pages_keep_the_filters(login, staff, products):
    consumer, _car = products
    for _n in range(51):
        make(staff, staff.mkt, consumer, "30000.00", "张")
    client = chinese(login(staff.mkt))
    html = get(client, reverse("home"), {"sort": "newest", "amount_min": "1"}).content.decode()
    assert "sort=newest&amp;amount_min=1&amp;page=2" in html
    assert "sort=newest&amp;amount_min=1&amp;format=xlsx" in html


# ---------------------------------------------------------------------------------------------------------------
# The post-loan queues: three active loans (two of mkt, one of mkt2), driven through the real services


@pytest.fixture
def book(staff, products):
    consumer, car = products
    loans = {"small": make(staff, staff.mkt, consumer, "20000.00", "甲"),
             "large": make(staff, staff.mkt, car, "180000.00", "乙"),
             "theirs": make(staff, staff.mkt2, consumer, "90000.00", "丙")}
    return {k: drive(staff, loan, Status.ACTIVE) for k, loan in loans.items()}


def names(loans, *keys) -> list[str]:
    return [str(loans[k]) for k in keys]


def test_the_archive_queue_filters_sorts_and_exports_its_lists(login, staff, book, products):
    consumer, car = products
    client = chinese(login(staff.arch))
    url = reverse("archive:queue")

    def to_receive(response) -> list[str]:
        assert response.status_code == 200
        return [str(f.loan) for f in response.context["queue"].to_receive]

    assert sorted(to_receive(get(client, url))) == sorted(names(book, "small", "large", "theirs"))
    assert to_receive(submit(client, url, product=car.pk)) == names(book, "large")
    assert to_receive(submit(client, url, officer=staff.mkt2.pk)) == names(book, "theirs")
    assert to_receive(submit(client, url, amount_max="50000")) == names(book, "small")
    assert to_receive(submit(client, url, status="settled")) == []
    assert to_receive(submit(client, url, sort="amount_asc")) == names(book, "small", "theirs", "large")
    assert to_receive(submit(client, url, sort="amount_desc")) == names(book, "large", "theirs", "small")
    assert to_receive(submit(client, url, created_from=str(timezone.localdate() + timedelta(days=1)))) == []

    rows = _csv(get(client, url, {"product": consumer.pk, "sort": "amount_desc", "format": "csv"}))
    assert rows[0][:3] == ["清单", "项目", "日期"] and rows[0][3:8] == HEADER
    assert [(r[0], r[3]) for r in rows[1:]] == [("待接收资料", str(book["theirs"])),
                                                ("待接收资料", str(book["small"]))]
    sheet = _xlsx(get(client, url, {"officer": staff.mkt2.pk, "format": "xlsx"}))
    assert [r[3] for r in sheet[1:]] == names(book, "theirs") and sheet[1][8] == 90000

    page = refused(client, url, "客户经理", officer="abc")
    assert page.context["queue"].to_receive == []


def test_a_sub_centers_manager_finds_no_archive_work_of_the_center_whatever_the_filter(login, staff, book, products):
    from loancenter.models import Unit

    Unit.objects.create(code="EAST", name="东区分中心", may_disburse=True)
    east_boss = staff_create(username="e_boss", posts=["manager"], password="x-Passw0rd-long", full_name="东",
                             unit="EAST")
    client = chinese(login(east_boss))
    url = reverse("archive:queue")
    assert get(client, url).context["queue"].to_receive == []
    assert get(client, url, {"product": products[0].pk}).context["queue"].to_receive == []
    assert get(client, url, {"officer": staff.mkt.pk}).status_code == 400  # not an officer of their unit
    assert len(_csv(get(client, url, {"format": "csv"}))) == 1


def test_the_checks_and_signals_queue_filters_sorts_and_exports(login, staff, book, products):
    consumer, car = products
    client = chinese(login(staff.mkt))
    url = reverse("monitoring-queue")

    def checked(response) -> list[str]:
        assert response.status_code == 200
        return [str(c.loan) for c in response.context["checks"]]

    assert sorted(checked(get(client, url))) == sorted(names(book, "small", "large"))  # their own fund-use checks
    assert checked(submit(client, url, product=car.pk)) == names(book, "large")
    assert checked(submit(client, url, amount_min="100000")) == names(book, "large")
    assert checked(submit(client, url, status="active", sort="amount_asc")) == names(book, "small", "large")
    assert checked(submit(client, url, sort="amount_desc")) == names(book, "large", "small")
    assert checked(submit(client, url, changed_to=str(timezone.localdate() - timedelta(days=1)))) == []
    assert checked(submit(client, url, officer=staff.mkt2.pk)) == []  # mkt2's loan stays out of their queue
    html = get(client, url).content.decode()
    assert '<option value="">到期日在前</option>' in html  # the queue's own order, offered first

    rows = _csv(get(client, url, {"product": consumer.pk, "format": "csv"}))
    assert rows[0][:3] == ["清单", "项目", "日期"] and rows[0][3:8] == HEADER
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [("我的贷后检查", "资金用途检查", str(book["small"]))]
    sheet = _xlsx(get(client, url, {"sort": "amount_desc", "format": "xlsx"}))
    assert [r[3] for r in sheet[1:]] == names(book, "large", "small")

    page = refused(client, url, "申请日期至", created_to="2026-13-01")
    assert page.context["checks"] == []


def test_the_pending_requests_page_filters_sorts_and_exports(login, staff, book, products):
    consumer, car = products
    for loan in book.values():
        servicing_file(loan_id=loan.pk, actor=loan.marketing_officer, kind=ServicingRequest.EXTENSION,
                       extension_months=6, reason="资金周转")
    client = chinese(login(staff.rev))
    url = reverse("postloan-pending")

    def requested(response) -> list[str]:
        assert response.status_code == 200
        return [str(r.loan) for r in response.context["requests"]]

    assert requested(get(client, url)) == names(book, "small", "large", "theirs")  # oldest request first
    assert requested(submit(client, url, product=car.pk)) == names(book, "large")
    assert requested(submit(client, url, officer=staff.mkt2.pk)) == names(book, "theirs")
    assert requested(submit(client, url, amount_min="50000", sort="amount_asc")) == names(book, "theirs", "large")
    assert requested(submit(client, url, sort="amount_desc")) == names(book, "large", "theirs", "small")
    assert requested(submit(client, url, status="settled")) == []

    rows = _csv(get(client, url, {"product": consumer.pk, "format": "csv"}))
    assert rows[0][:3] == ["清单", "项目", "日期"] and rows[0][3:8] == HEADER
    assert [(r[0], r[3]) for r in rows[1:]] == [("贷后申请", str(book["small"])), ("贷后申请", str(book["theirs"]))]
    assert rows[1][1].startswith("展期")
    sheet = _xlsx(get(client, url, {"officer": staff.mkt.pk, "format": "xlsx"}))
    assert [r[3] for r in sheet[1:]] == names(book, "small", "large")

    page = refused(client, url, "金额上限", amount_min="500", amount_max="10")
    assert page.context["requests"] == []
    # The officer sees the requests they filed; another officer's id shows nothing more.
    mine = chinese(login(staff.mkt))
    assert requested(get(mine, url)) == names(book, "small", "large")
    assert requested(get(mine, url, {"officer": staff.mkt2.pk})) == []


def test_the_check_register_takes_the_loan_filters_beside_its_own(login, staff, book, products):
    consumer, car = products
    client = chinese(login(staff.gen))
    url = reverse("check-register")

    def registered(response) -> list[str]:
        assert response.status_code == 200
        return [str(c.loan) for c in response.context["checks"]]

    assert sorted(registered(get(client, url))) == sorted(names(book, "small", "large", "theirs"))
    assert registered(submit(client, url, officer=staff.mkt2.pk)) == names(book, "theirs")
    assert registered(submit(client, url, product=consumer.pk, sort="amount_desc")) == names(book, "theirs", "small")
    assert registered(get(client, url, {"kind": "routine", "product": car.pk})) == []  # its own filter, kept
    rows = _csv(get(client, url, {"amount_min": "100000", "format": "csv"}))
    assert [r[0] for r in rows[1:]] == names(book, "large")  # the register's own columns
    page = refused(client, url, "状态", status="nonsense")
    assert page.context["checks"] == []


def test_the_signal_dashboard_drills_down_through_the_loan_filters(login, staff, book, products, api):
    consumer, car = products
    for loan in book.values():
        assert api(staff.gen).post(f"/api/loans/{loan.pk}/signals/", {"code": "litigation"},
                                   format="json").status_code == 201
    client = chinese(login(staff.boss))
    url = reverse("signal-dashboard")

    def signalled(response) -> list[str]:
        assert response.status_code == 200
        return [str(s.loan) for s in response.context["rows"]]

    assert sorted(signalled(get(client, url))) == sorted(names(book, "small", "large", "theirs"))
    assert signalled(submit(client, url, product=car.pk)) == names(book, "large")
    assert signalled(get(client, url, {"officer": staff.mkt2.pk, "level": "red"})) == names(book, "theirs")
    assert signalled(submit(client, url, sort="amount_asc")) == names(book, "small", "theirs", "large")
    rows = _csv(get(client, url, {"product": consumer.pk, "sort": "amount_asc", "format": "csv"}))
    assert rows[0][:3] == ["清单", "项目", "日期"] and [r[3] for r in rows[1:]] == names(book, "small", "theirs")
    refused(client, url, "产品", product="abc")  # was silently dropped: the list showed every signal
    assert get(client, url, {"level": "purple"}).status_code == 400


def test_the_registration_ledger_and_the_outbox_take_the_prefixed_loan_filters(login, staff, flow, book, products):
    from postloan.monitoring_models import Notice
    from tests.factories import SecuredProductFactory, add_collateral

    consumer, car = products
    housing = SecuredProductFactory(code="housing", name="住房贷款")
    secured = []
    for amount in ("150000.00", "120000.00"):
        loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=housing, marketing_officer=staff.mkt,
                           amount=Decimal(amount), term_months=120, purpose="house_purchase")
        add_collateral(loan, certificate_no=f"京(2025)东城区不动产权第{amount[:6]}号")
        secured.append(str(flow.advance(loan, Status.CONTRACT_SIGNED)))
    client = chinese(login(staff.clerk))
    url = reverse("registration-ledger")

    def ledger(response) -> list[str]:
        assert response.status_code == 200
        return [str(line.loan) for line in response.context["lines"]]

    assert ledger(get(client, url)) == secured
    assert ledger(submit(client, url, **{"loan-amount_max": "130000"})) == secured[1:]
    assert ledger(submit(client, url, **{"loan-sort": "amount_asc"})) == secured[::-1]
    assert ledger(get(client, url, {"status": "waiting", "loan-product": consumer.pk})) == []
    rows = _csv(get(client, url, {"status": "waiting", "loan-sort": "amount_desc", "format": "csv"}))
    assert [r[3] for r in rows[1:]] == secured and rows[1][1].startswith("待")
    refused(client, url, "金额下限", **{"loan-amount_min": "-5"})

    now = timezone.now()
    for n, loan in enumerate(book.values()):
        Notice.objects.create(loan=loan, kind=Notice.PRE_DUE, channel=Notice.SMS, due_date=timezone.localdate(),
                              scheduled_for=now - timedelta(hours=n), created_on=timezone.localdate())
    client = chinese(login(staff.gen))
    url = reverse("notice-outbox")

    def noticed(response) -> list[str]:
        assert response.status_code == 200
        return [str(n.loan) for n in response.context["rows"]]

    assert noticed(get(client, url)) == names(book, "small", "large", "theirs")  # latest scheduled first
    assert noticed(submit(client, url, **{"loan-product": car.pk})) == names(book, "large")
    assert noticed(submit(client, url, **{"loan-officer": staff.mkt2.pk})) == names(book, "theirs")
    assert noticed(get(client, url, {"status": "queued", "loan-sort": "amount_desc"})) == names(
        book, "large", "theirs", "small")
    sheet = _xlsx(get(client, url, {"loan-amount_max": "50000", "format": "xlsx"}))
    assert [r[3] for r in sheet[1:]] == names(book, "small")
    refused(client, url, "客户经理", **{"loan-officer": "x"})
    # The officer's outbox: their loans' notices only, whatever officer they pick.
    assert noticed(get(chinese(login(staff.mkt)), url, {"loan-officer": staff.mkt2.pk})) == []


def test_the_vault_and_the_loans_out_register_take_the_loan_filters(login, staff, book, products):
    from archive.models import ChecklistItem
    from tests.archive.conftest import item, lend_out, tick

    consumer, car = products
    for n, loan in enumerate(book.values()):
        receipt = item(loan, "receipt")
        ChecklistItem.objects.filter(pk=receipt.pk).update(vault=True)
        receipt.refresh_from_db()
        lend_out(staff, tick(staff, receipt, location=f"金库A-0{n}"), requester=loan.marketing_officer)
    client = chinese(login(staff.arch))

    def vaulted(response) -> list[str]:
        assert response.status_code == 200
        return [str(i.loan_file.loan) for i in response.context["page"]]

    url = reverse("archive:vault")
    assert vaulted(get(client, url)) == names(book, "small", "large", "theirs")  # by location
    assert vaulted(submit(client, url, product=car.pk)) == names(book, "large")
    assert vaulted(submit(client, url, sort="amount_desc")) == names(book, "large", "theirs", "small")
    assert vaulted(get(client, url, {"q": "金库A-02", "officer": staff.mkt2.pk})) == names(book, "theirs")
    rows = _csv(get(client, url, {"officer": staff.mkt.pk, "format": "csv"}))
    assert [r[3] for r in rows[1:]] == names(book, "small", "large") and rows[1][1].startswith("金库A-00")
    refused(client, url, "状态", status="x")

    def lent(response) -> list[str]:
        assert response.status_code == 200
        return [str(lending.loan) for lending in response.context["page"]]

    url = reverse("archive:lending-list")
    assert lent(get(client, url)) == names(book, "theirs", "large", "small")  # latest request first
    assert lent(submit(client, url, **{"loan-product": consumer.pk})) == names(book, "theirs", "small")
    assert lent(get(client, url, {"status": "out", "loan-sort": "amount_asc"})) == names(
        book, "small", "theirs", "large")
    sheet = _xlsx(get(client, url, {"loan-officer": staff.mkt2.pk, "format": "xlsx"}))
    assert [r[3] for r in sheet[1:]] == names(book, "theirs")
    refused(client, url, "金额上限", **{"loan-amount_max": "x"})


def test_the_destruction_register_takes_the_loan_filters(login, staff, book, products):
    from archive.models import Destruction
    from tests.archive.conftest import item

    consumer, car = products
    for loan in book.values():  # proposals as the register keeps them (the retention rules are tested in archive)
        Destruction.objects.create(item=item(loan, "receipt"), loan=loan, retention_until=timezone.localdate(),
                                   reason="保管期满", proposed_by=staff.arch)
    client = chinese(login(staff.boss))
    url = reverse("archive:destructions")

    def proposed(response) -> list[str]:
        assert response.status_code == 200
        return [str(d.loan) for d in response.context["page"]]

    assert proposed(get(client, url)) == names(book, "theirs", "large", "small")  # latest proposal first
    assert proposed(submit(client, url, product=consumer.pk)) == names(book, "theirs", "small")
    assert proposed(submit(client, url, sort="amount_asc")) == names(book, "small", "theirs", "large")
    rows = _csv(get(client, url, {"officer": staff.mkt2.pk, "format": "csv"}))
    assert [(r[0], r[3]) for r in rows[1:]] == [("销毁登记簿", str(book["theirs"]))]
    refused(client, url, "状态变更日期至", changed_to="yesterday")
    assert proposed(get(client, url, {"product": car.pk})) == names(book, "large")
