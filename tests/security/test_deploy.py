"""Production settings pass Django's deployment check, and every page carries a CSP that forbids inline script."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

ROOT = Path(settings.BASE_DIR)
SCRIPT_WITHOUT_SRC = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
# In a rendered page, a JSON data block (Django's json_script: <script id="…" type="application/json">) is never
# executed, so the CSP's script-src does not apply to it; any other <script> without src is inline code and refused.
# Templates stay on the strict pattern: a data block is written with json_script (escaped), never by hand.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\btype=\"application/json\")[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
JS_URL = re.compile(r"(href|src|action)\s*=\s*[\"']\s*javascript:", re.IGNORECASE)


def production_env() -> dict[str, str]:
    # The embedded database: on PostgreSQL the deploy check also names the role the app connects as (CI's is a
    # superuser); tests/audit/test_db_roles.py runs `check --deploy` as a granted app role.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "DEBUG", "SECURE_", "SESSION_", "CSRF_", "AUDIT_", "DATABASE_URL"))}
    env.update(DEBUG="0", SECRET_KEY=secrets.token_urlsafe(64), ALLOWED_HOSTS="loans.example.bank",
               AUDIT_HMAC_KEY=secrets.token_urlsafe(48), DJANGO_SETTINGS_MODULE="loancenter.settings")
    return env


def test_check_deploy_reports_nothing_with_production_settings():
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_settings_values():
    code = ("from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.SESSION_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT, s.SECURE_PROXY_SSL_HEADER, s.SECURE_HSTS_SECONDS>0, "
            "s.X_FRAME_OPTIONS, s.SECURE_REFERRER_POLICY, 0 <= s.SESSION_REFRESH_SECONDS <= 60)")
    result = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT,
                            env=production_env(), capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["True", "True", "True", "True", "('HTTP_X_FORWARDED_PROTO',", "'https')", "True",
                                     "DENY", "same-origin", "True"], result.stderr


def test_templates_have_no_inline_script_or_handler():
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern in (SCRIPT_WITHOUT_SRC, INLINE_HANDLER, JS_URL):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)[:80]}" for m in pattern.finditer(text)]
    assert offenders == []


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.fixture
def pages(staff, flow, draft, customer):
    loan = flow.advance(draft, "active")
    return [
        (staff.mkt, reverse("home")), (staff.mkt, reverse("loan-list")), (staff.mkt, reverse("loan-detail", args=[loan.pk])),
        (staff.mkt, reverse("loan-edit", args=[loan.pk])), (staff.mkt, reverse("loan-create")),
        (staff.mkt, reverse("customer-list")), (staff.mkt, reverse("customer-detail", args=[customer.pk])),
        (staff.mkt, reverse("customer-create")), (staff.gen, reverse("product-create")),
        (staff.boss, reverse("dashboard")), (staff.boss, reverse("pii-views")), (staff.boss, reverse("product-list")),
        (staff.arch, reverse("archive:queue")), (staff.gen, reverse("collection-queue")),
        (staff.gen, reverse("postloan-loan", args=[loan.pk])), (staff.boss, reverse("classification-report")),
        (staff.clerk, reverse("registration-ledger")), (None, reverse("login")),
        # This round's pages: the LPR register, the scorecards, the search, the calculator, the agency report.
        (staff.gen, reverse("lpr-register")), (staff.gen, reverse("scorecards")), (staff.mkt, reverse("search")),
        (staff.mkt, reverse("loan-calculator")), (staff.boss, reverse("agency-report")),
    ]


def test_pages_carry_the_policy_and_no_inline_script(client, pages):
    seen = 0
    for user, url in pages:
        client.logout()
        if user is not None:
            client.force_login(user)
        response = client.get(url)
        if response.status_code != 200:
            continue
        seen += 1
        policy = _policy(response)
        assert policy["script-src"] == ["'self'"], url
        assert policy["default-src"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        body = response.content.decode()
        assert not INLINE_SCRIPT.search(body), url
        assert not INLINE_HANDLER.search(body), url
        assert not re.search(r"<script[^>]*src=\"(https?:)?//", body), url  # no script from another origin
    assert seen >= len(pages) - 2


def test_swagger_ui_works_without_inline_script(client, staff):
    client.force_login(staff.boss)
    page = client.get(reverse("api-docs"))
    assert page.status_code == 200
    body = page.content.decode()
    assert not SCRIPT_WITHOUT_SRC.search(body)
    assert _policy(page)["script-src"] == ["'self'"]
    start = re.search(r'<script src="([^"]*script=[^"]*)"', body).group(1).replace("&amp;", "&")
    script = client.get(start)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
    for asset in re.findall(r'src="(/static/[^"]+)"', body):
        assert asset.startswith("/static/drf_spectacular_sidecar/")


def test_session_expires_after_inactivity(client, staff):
    """A request pushes the expiry forward by SESSION_COOKIE_AGE (at most once a SESSION_REFRESH_SECONDS, see
    test_session_refresh.py): an idle session ends, a busy one lasts."""
    client.force_login(staff.mkt)
    response = client.get(reverse("home"))
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE <= 60 * 60
    assert cookie["httponly"]
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
