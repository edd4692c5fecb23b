"""Translation faults (issue 15 part 11): the admin in Chinese names every model and column in Chinese, a user's
is_active is not "在售", the collateral's consent is not "已登记", the schedule's amount column is not "期次", a case's
owner is its 负责人 (not 所有权人); and the catalogue translates every message the code marks."""

from __future__ import annotations

import re
import subprocess
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import translation

from applications.models import Status

OUR_APPS = ("loancenter", "applications", "review", "disbursement", "postloan", "archive")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


@pytest.fixture
def chinese(settings):
    settings.LANGUAGE_CODE = "zh-hans"
    with translation.override("zh-hans"):
        yield


def get(client, url):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200, url
    return response.content.decode()


def test_every_model_of_ours_has_a_chinese_name(chinese):
    english = []
    for model in apps.get_models():
        if model._meta.app_label in OUR_APPS:
            for name in (model._meta.verbose_name, model._meta.verbose_name_plural):
                if LATIN_WORD.search(str(name)):
                    english.append(f"{model._meta.label}: {name}")
    assert english == []


def test_the_admin_index_lists_no_english_model_name(client, staff, chinese):
    client.force_login(staff.gen)
    html = get(client, reverse("admin:index"))
    names = re.findall(r'<th scope="row"[^>]*>\s*(?:<a[^>]*>)?([^<]+)', html)
    assert names, "no model listed"
    assert [n for n in names if LATIN_WORD.search(n)] == []
    for english in ("Pii views", "Refused attempts", "Login counters", "Audit entries"):
        assert english not in html


def test_admin_columns_are_chinese_and_is_active_is_not_on_sale(client, staff, chinese, product):
    from django.utils import timezone

    from loancenter.models import LoginCounter, RefusedAttempt

    LoginCounter.objects.create(kind=LoginCounter.THROTTLE, username="", address="10.0.0.1", failures=3,
                                window_ends=timezone.now())
    RefusedAttempt.objects.create(actor=staff.mkt, action="approve", code="wrong_post", detail="—")
    client.force_login(staff.gen)
    users = get(client, reverse("admin:loancenter_user_changelist"))
    assert "在售" not in users
    counters = get(client, reverse("admin:loancenter_logincounter_changelist"))
    assert "登录失败次数" in counters and "Failures" not in counters and "来源地址（限流）" in counters
    refused = get(client, reverse("admin:loancenter_refusedattempt_changelist"))
    assert "拒绝代码" in refused
    products = get(client, reverse("admin:applications_product_changelist"))
    assert "在售" in products  # a product is on sale: the word stays where it belongs


def test_collateral_consent_reads_consent_given(client, staff, draft, chinese):
    from tests.factories import add_collateral

    add_collateral(draft, consent=True)
    client.force_login(staff.mkt)
    page = get(client, reverse("loan-detail", args=[draft.pk]))
    collaterals = page[page.index("处分权人同意"):]
    assert "已同意" in collaterals[:2000] and "已登记" not in collaterals[:2000]


@pytest.fixture
def active(staff, flow, draft):
    with time_machine.travel(datetime.combine(date(2025, 1, 15), time(10), tzinfo=ZoneInfo("Asia/Shanghai")),
                             tick=False):
        return flow.advance(draft, Status.ACTIVE)


def test_the_schedule_column_of_amounts_is_not_named_installment_number(client, staff, active, chinese):
    client.force_login(staff.mkt)
    page = get(client, reverse("loan-detail", args=[active.pk]))
    schedule = page[page.index('data-testid="schedule"'):]
    header = schedule[:schedule.index("</thead>")]
    assert "本期应还" in header and "期次" not in header


def test_a_collection_case_names_its_owner_the_person_responsible(client, staff, active, chinese):
    from postloan.models import CollectionCase

    case = CollectionCase.objects.create(loan=active, opened_on=date(2025, 3, 1), tier="T1", owner_post="marketing",
                                         owner=staff.mkt)
    client.force_login(staff.mkt)
    page = get(client, reverse("collection-case", args=[case.pk]))
    assert "<dt>负责人</dt>" in page and "所有权人" not in page
    with translation.override("zh-hans"):
        assert translation.gettext("Owner") == "所有权人"  # a collateral's owner keeps its word


def test_the_catalogue_translates_every_message():
    po = Path(django_settings.BASE_DIR, "locale/zh_Hans/LC_MESSAGES/django.po")
    stats = subprocess.run(["msgfmt", "--check", "--statistics", str(po), "-o", "/dev/null"],
                           capture_output=True, text=True, check=True).stderr
    assert "untranslated" not in stats and "fuzzy" not in stats, stats
