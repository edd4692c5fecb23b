"""The UI speaks Simplified Chinese by default and English on request; the catalogue is complete."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from applications.models import Status
from tests.factories import LoanFactory, SecuredProductFactory, add_collateral

PO_FILE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")


@pytest.fixture(autouse=True)
def _product_default_language(settings):
    # tests/conftest.py makes English the default for the other tests; here the shipped default applies.
    settings.LANGUAGE_CODE = "zh-hans"
    with translation.override("zh-hans"):
        yield


# A tiny .po reader: enough for the entries makemessages writes (no dependency on polib).
def _unquote(text: str) -> str:
    body = text.strip()[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def po_entries(path: Path) -> list[dict]:
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: dict = {"flags": [], "msgid": None, "msgstr": {}, "obsolete": False}
        field = None
        for line in block.splitlines():
            if line.startswith("#~"):
                entry["obsolete"] = True
            elif line.startswith("#,"):
                entry["flags"] = [flag.strip() for flag in line[2:].split(",")]
            elif line.startswith("#") or not line.strip():
                continue
            elif match := re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?) (".*")$', line):
                keyword, index, value = match.group(1), match.group(2), _unquote(match.group(3))
                if keyword.startswith("msgstr"):
                    field = ("msgstr", int(index or 0))
                    entry["msgstr"][field[1]] = value
                else:
                    field = (keyword,)
                    entry[keyword] = value
            elif line.startswith('"'):
                if field[0] == "msgstr":
                    entry["msgstr"][field[1]] += _unquote(line)
                else:
                    entry[field[0]] += _unquote(line)
        if entry["msgid"] is not None and not entry["obsolete"]:
            entries.append(entry)
    return entries


def placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%\(\w+\)[sd]", text))


def test_every_catalogue_entry_is_translated_and_not_fuzzy():
    entries = [e for e in po_entries(PO_FILE) if e["msgid"] != ""]
    assert len(entries) > 500  # the whole UI, not a stub
    untranslated = [e["msgid"] for e in entries if not all(e["msgstr"].values())]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert not untranslated, f"untranslated: {untranslated[:10]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:10]}"


def test_translations_keep_every_placeholder_and_the_rule_number():
    for entry in po_entries(PO_FILE):
        if entry["msgid"] == "":
            continue
        for translated in entry["msgstr"].values():
            assert placeholders(translated) == placeholders(entry["msgid"]), entry["msgid"]
            rule = re.search(r"\(rule (\w+)\)", entry["msgid"])
            if rule:
                assert f"(规则 {rule.group(1)})" in translated, entry["msgid"]


def test_compiled_catalogue_matches_the_po():
    # `make run` must not need gettext: the .mo ships with the code and carries every translation of the .po.
    with MO_FILE.open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for entry in po_entries(PO_FILE):
        if entry["msgid"] == "":
            continue
        if entry.get("msgctxt") is not None:
            assert compiled.pgettext(entry["msgctxt"], entry["msgid"]) == entry["msgstr"][0], entry["msgid"]
        elif entry.get("msgid_plural") is not None:
            assert compiled.ngettext(entry["msgid"], entry["msgid_plural"], 1) == entry["msgstr"][0], entry["msgid"]
        else:
            assert compiled.gettext(entry["msgid"]) == entry["msgstr"][0], entry["msgid"]


def test_the_shipped_default_language_is_simplified_chinese():
    from loancenter import settings as shipped

    assert shipped.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _name in shipped.LANGUAGES] == ["zh-hans", "en"]


def test_login_page_speaks_chinese_by_default(client):
    html = client.get(reverse("login")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "登录" in html and "用户名" in html and "密码" in html
    assert "Log in" not in html


def test_loan_page_shows_chinese_status_and_labels(client, staff, flow, draft):
    flow.advance(draft, to=Status.PENDING_APPROVAL)
    client.force_login(staff.appr)
    html = client.get(reverse("loan-detail", args=[draft.pk])).content.decode()
    assert "待审批" in html
    assert "操作记录" in html  # the audit trail's heading
    assert "Pending approval" not in html and "Audit trail" not in html


def test_work_queue_speaks_chinese(client, staff, flow, draft):
    flow.advance(draft, to=Status.UNDER_REVIEW)
    client.force_login(staff.rev)
    html = client.get(reverse("home")).content.decode()
    assert "我的待办" in html and "审查中" in html
    assert "My work queue" not in html


def test_api_refusal_carries_the_chinese_rule_message(staff, product, customer):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, documents=["id_card"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff.mkt).key}")

    response = client.post(f"/api/loans/{loan.pk}/transitions/submit/", {}, format="json")

    assert response.status_code in (400, 403, 409, 422)
    body = response.json()
    assert body["code"] == "documents_missing"
    assert "规则 5" in body["detail"] and "缺少必备资料" in body["detail"]
    assert "收入证明" in body["detail"]  # the missing document by its Chinese name
    loan.refresh_from_db()
    assert loan.status == Status.DRAFT


def test_web_refusal_names_the_rule_in_chinese(client, staff, product, customer):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, documents=["id_card"])
    client.force_login(staff.mkt)
    html = client.post(reverse("loan-transition", args=[loan.pk, "submit"])).content.decode()
    assert "缺少必备资料:收入证明(规则 5)" in html


@pytest.mark.parametrize("accept", ["en", "en-US,en;q=0.9"])
def test_api_answers_in_english_when_the_client_asks(staff, product, customer, accept):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, documents=["id_card"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff.mkt).key}")
    response = client.post(f"/api/loans/{loan.pk}/transitions/submit/", {}, format="json", HTTP_ACCEPT_LANGUAGE=accept)
    assert "Required documents missing" in response.json()["detail"] and "(rule 5)" in response.json()["detail"]


def test_switching_to_english_and_back(client, staff, flow, draft):
    flow.advance(draft, to=Status.PENDING_APPROVAL)
    client.force_login(staff.appr)
    url = reverse("loan-detail", args=[draft.pk])

    client.post(reverse("set_language"), {"language": "en", "next": url})
    html = client.get(url).content.decode()
    assert '<html lang="en">' in html
    assert "Pending approval" in html and "Audit trail" in html and "Log out" in html
    assert "待审批" not in html

    client.post(reverse("set_language"), {"language": "zh-hans", "next": url})
    html = client.get(url).content.decode()
    assert "待审批" in html and "退出登录" in html


def test_an_english_browser_still_gets_chinese_pages_until_english_is_chosen(client, staff):
    client.force_login(staff.rev)
    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in html and "我的待办" in html

    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert '<html lang="en">' in html and "My work queue" in html


def test_registration_ledger_labels_follow_the_chosen_language(client, staff, flow, customer):
    # Labels defined at module level are lazy: each request gets its own language, not the one active at import.
    product = SecuredProductFactory(code="housing")
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
    add_collateral(loan)
    flow.advance(loan, to=Status.CONTRACT_SIGNED)
    client.force_login(staff.clerk)

    html = client.get(reverse("registration-ledger")).content.decode()
    assert "待申请登记" in html and "已申请" in html  # the line's label and the filter's option
    assert "Waiting for the application" not in html

    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = client.get(reverse("registration-ledger")).content.decode()
    assert "Waiting for the application" in html and "Applied" in html
    assert "待申请登记" not in html
