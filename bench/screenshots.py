"""Screenshots of the dashboard, the loan page and the application form at 390 px (phone) and 768 px (tablet).

Not part of the test run. Against a running demo (`make run`, or any server with the demo loaded):

    .venv/bin/python bench/screenshots.py [--base http://127.0.0.1:8000] [--out docs/screenshots]

Saves ``<page>-<width>.png`` (full page) into ``--out`` and prints each file with the page's width, which must not
exceed the screen's (issue 15 part 2). Chromium is Debian's (/usr/bin/chromium); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from playwright.sync_api import sync_playwright

PASSWORD = "demo-pass-2026"
WIDTHS = (390, 768)


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_selector("[data-testid=user-name]")


def first_loan(page, base: str, status: str) -> str:
    page.goto(f"{base}/loans/?status={status}")
    href = page.locator("table[data-testid=loans] tbody a[href^='/loans/']").first.get_attribute("href")
    if not href or not re.match(r"^/loans/\d+/$", href):
        raise SystemExit(f"no {status} loan in the demo")
    return href


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking"])
        # Who sees each page: the manager's dashboard and loan page, the marketing officer's application form.
        shots = [("boss1", "dashboard", lambda page: "/dashboard/"),
                 ("boss1", "loan", lambda page: first_loan(page, args.base, "pending_approval")),
                 ("mkt1", "application-form", lambda page: "/loans/new/")]
        for width in WIDTHS:
            contexts = {}
            for username, name, address in shots:
                if username not in contexts:
                    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN",
                                                  device_scale_factor=1)
                    contexts[username] = context.new_page()
                    log_in(contexts[username], args.base, username)
                page = contexts[username]
                page.goto(args.base + address(page))
                page.wait_for_load_state("networkidle")
                wide = page.evaluate("document.documentElement.scrollWidth")
                path = out / f"{name}-{width}.png"
                page.screenshot(path=str(path), full_page=True)
                print(f"{path}  page width {wide} px at {width} px")
            for page in contexts.values():
                page.context.close()
        browser.close()


if __name__ == "__main__":
    main()
