"""Write ``docs/side-doors.md`` from the suite: every ``@pytest.mark.sidedoor(rule, path)`` cell, and the findings of
issue 13 with the regression tests that prove each one closed.

    python -m tests.sidedoors.table            # rewrite docs/side-doors.md
    python -m tests.sidedoors.table --stdout   # print it instead (tests/sidedoors/test_table.py compares)

The marks are read by a pytest collection (``--collect-only``) with a small plugin that looks at each collected
item's markers (``Item.iter_markers``): pytest's public hooks only. A finding's test that is no longer collected
stops the generator, so the second table cannot point at a test that is gone.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "docs" / "side-doors.md"
COMMAND = "python -m tests.sidedoors.table"

# What each rule label of the marks stands for (SPEC §3, §4, §10).
RULES = {
    "1": "Rule 1: full civil capacity",
    "2": "Rule 2: the credit warning list",
    "5": "Rule 5: required documents",
    "11": "Rule 11: the approver's authority limit",
    "14": "Rule 14: no disbursement before the mortgage is registered",
    "17": "Rule 17: entrusted payment, self payment within the category's limit",
    "20": "Rule 20: changes of borrower data and repayment account are reviewed requests",
    "22": "Rule 22: editing never loses data (optimistic concurrency)",
    "23": "Rule 23: verified facts are frozen",
    "24": "Rule 24: rules 1–2 again at prepare_receipt and disburse",
    "25": "Rule 25: identifiers normalised",
    "26": "Rule 26: two-person investigation by two logins",
    "27": "Rule 27: authority measured on exposure",
    "28": "Rule 28: one certificate backs one live loan",
    "29": "Rule 29: a loan keeps the terms it was approved on",
    "30": "Rule 30: staff administration is four-eyes",
    "31": "Rule 31: the approval records its reasons",
    "sod": "Separation of duty (§4 and the §10 additions; staff loans by ID number)",
    "post_combination": "Post combinations (§1: a mortgage clerk never also reviews, approves or disburses)",
    "auth": "Authentication (§10: lock-out, throttles, tokens, passwords, no post powers for superusers)",
    "input": "Bad input (§10: dates, amounts, concurrent references, report parameters, post before input)",
    "export": "Exports neutralise formulas (§10)",
    "refusal": "Every refusal recorded with its loan (§10)",
    "audit": "The keyed audit chain and the app's database role (§10)",
    "13-open-work": "Open work is handed over before an account closes, a post goes or a person moves unit (§13, §16.27)",
    "13-last-clerk": "A disbursing sub-center keeps a mortgage clerk (§13)",
    "lpr": "LPR publications take effect only when a second person confirms them (§15, §16.32)",
    "monitoring": "Post-loan monitoring (§12, §16.17–24: one fund-use check per loan, credit queries need an authorisation)",
    "rate-in-force": "After a repricing, money computed later is at the rate in force (§15, §16.33: servicing, "
                     "penalty; postloan.models.RateHistory)",
    "pricing": "Risk pricing (§15, §16.30: outside the rate grid only with an override reason; a scorecard version is read-only once filed, changed by four eyes)",
    "12-collections": "Collections strategy (§12: a restructuring decided by someone else, agencies only from the "
                      "whitelist, the debtor's stance and a revaluation with their evidence)",
}

SURFACES = ("browser", "api", "admin", "command", "service")


@dataclass(frozen=True)
class Finding:
    number: int
    title: str
    surface: str  # where it was found
    tests: tuple[str, ...]  # node ids without parameters


# Issue 13, "What was found": each finding and the tests that failed before its fix and pass now, through the surface
# where it was found first.
FINDINGS = (
    Finding(1, "Data loss: saving a draft in the browser deleted its guarantors and collaterals", "browser (Chromium)", (
        "tests/browser/test_edit_keeps_rows.py::test_ticking_one_more_document_keeps_the_guarantor_and_the_collateral",
        "tests/edit/test_loan_edit.py::test_posting_the_edit_form_back_unchanged_changes_nothing",
    )),
    Finding(2, "Income changed by PATCH after verification (and around rule 20)", "api", (
        "tests/applications/test_verified_facts.py::test_marketing_cannot_patch_income_while_the_loan_waits_for_approval",
        "tests/applications/test_verified_facts.py::test_marketing_cannot_patch_any_verified_fact_of_an_active_borrower",
    )),
    Finding(3, "Warning list after approval: still paid", "api", (
        "tests/disbursement/test_people_rechecked.py::test_a_borrower_put_on_the_warning_list_after_approval_gets_no_receipt",
        "tests/disbursement/test_people_rechecked.py::test_a_borrower_put_on_the_warning_list_after_the_receipt_is_not_paid",
    )),
    Finding(4, "Full-width digits: the same person registered twice", "api", (
        "tests/api/test_identifiers.py::test_the_same_borrower_typed_differently_cannot_register_twice",
        "tests/api/test_identifiers.py::test_a_customer_on_the_warning_list_cannot_come_back_as_a_full_width_twin",
        "tests/api/test_identifiers.py::test_the_staff_borrower_check_catches_a_full_width_registration",
        "tests/api/test_identifiers.py::test_a_phone_changed_through_patch_is_stored_in_ascii",
    )),
    Finding(5, "Two-person investigation done by one login", "api", (
        "tests/api/test_cosign_investigation.py::test_one_login_can_no_longer_complete_a_dual_investigation_alone",
        "tests/api/test_cosign_investigation.py::test_naming_a_second_who_cannot_log_in_or_does_not_investigate_is_refused",
    )),
    Finding(6, "Authority split: two loans of 40,000 under a 50,000 limit", "api", (
        "tests/review/test_exposure.py::test_two_loans_of_40000_to_one_customer_need_more_than_a_50000_limit",
    )),
    Finding(7, "One certificate backing two live loans", "api", (
        "tests/api/test_certificates.py::test_a_certificate_backing_a_live_loan_cannot_back_a_second_one",
    )),
    Finding(8, "Product edits reached back into active loans' penalty", "api", (
        "tests/postloan/test_kept_terms.py::test_a_product_edit_does_not_change_an_active_loans_penalty",
    )),
    Finding(9, "Self-granted power in the admin", "admin", (
        "tests/admin/test_staff_requests_admin.py::test_finding_9_general_cannot_grant_themselves_approver_in_the_admin",
        "tests/api/test_staff_requests.py::test_finding_9_general_cannot_grant_themselves_approver_through_the_api",
    )),
    Finding(10, "Same person twice: escalator decides at branch; receipt preparer disburses", "api", (
        "tests/api/test_sod_additions.py::test_the_approver_who_escalated_may_not_decide_at_branch_level",
        "tests/api/test_sod_additions.py::test_the_reviewer_who_stamped_the_receipt_may_not_disburse",
    )),
    Finding(11, "Authentication: lock-out, enumeration, throttles, bursts, tokens, passwords", "browser, api, command", (
        "tests/loancenter/test_lockout.py::test_five_failures_from_one_address_do_not_lock_the_account_from_another",
        "tests/loancenter/test_lockout.py::test_locked_wrong_and_unknown_get_the_same_answer_on_the_login_page",
        "tests/loancenter/test_login_throttle.py::test_twenty_failures_from_an_address_stop_its_logins_for_ten_minutes",
        "tests/loancenter/test_login_throttle.py::test_the_token_endpoint_answers_429_with_a_code_past_the_rate",
        "tests/loancenter/test_login_concurrency.py::test_a_burst_of_guesses_gets_no_more_than_the_limit_checked",
        "tests/api/test_tokens.py::test_a_token_older_than_its_lifetime_is_refused_with_a_code",
        "tests/api/test_tokens.py::test_a_password_change_kills_the_token",
        "tests/commands/test_create_staff.py::test_eight_spaces_exit_non_zero_with_the_validators_message_on_stderr",
    )),
    Finding(12, "Bad input: ancient dates, huge amounts, concurrent references, report parameters, 400 before 403",
            "api, browser", (
                "tests/api/test_bad_input.py::test_a_payment_date_outside_disbursement_to_today_is_a_400",
                "tests/api/test_bad_input.py::test_an_amount_above_10_to_the_12_is_a_400",
                "tests/api/test_concurrent_reference.py::test_one_new_reference_sent_to_two_loans_at_once_gives_one_201_and_one_409",
                "tests/reports/test_report_params.py::test_a_parameter_the_report_cannot_mean_is_a_400_or_ignored_never_a_500",
                "tests/api/test_post_before_input.py::test_a_marketing_officer_posting_an_incomplete_product_gets_403",
            )),
    Finding(13, "Exports: a customer's name became a live formula", "browser (CSV, Excel)", (
        "tests/reports/test_exports.py::test_a_formula_in_a_customer_name_is_text_in_the_csv",
        "tests/reports/test_exports.py::test_a_formula_in_a_customer_name_is_text_in_the_excel_file",
    )),
    Finding(14, "Refusals not recorded, or recorded without their loan", "api", (
        "tests/api/test_refusals_recorded.py::test_a_refused_write_off_review_is_recorded_with_its_loan",
        "tests/api/test_refusals_recorded.py::test_a_refused_grade_change_approval_is_recorded_with_its_loan",
        "tests/api/test_refusals_recorded.py::test_a_loan_outside_the_scope_is_a_404_and_is_recorded",
        "tests/api/test_refusals_recorded.py::test_a_wrong_post_with_bad_input_is_a_recorded_403",
    )),
    Finding(15, "Audit chain rewritten by a role that owns the table", "command (psql, verify_audit)", (
        "tests/audit/test_keyed_chain.py::test_a_rewrite_that_recomputes_plain_sha256_hashes_is_found",
        "tests/audit/test_keyed_chain.py::test_a_truncated_table_is_found",
        "tests/audit/test_db_roles.py::test_the_app_role_cannot_rewrite_or_remove_audit_rows",
        "tests/audit/test_compose_roles.py::test_web_worker_and_beat_connect_as_the_app_role",
    )),
    Finding(16, "Papers: masked ID on the receipt, status as the decision, papers for drafts", "browser (PDF)", (
        "tests/disbursement/test_papers.py::test_the_receipt_shows_the_full_id_number_and_records_the_view",
        "tests/disbursement/test_papers.py::test_the_approval_form_shows_the_decision_taken_not_the_current_status",
        "tests/disbursement/test_papers.py::test_no_collection_notice_unless_the_loan_is_overdue_and_active",
    )),
)


@dataclass(frozen=True)
class Cell:
    rule: str
    path: str
    test: str  # node id


class _Marks:
    """A pytest plugin: after collection, every item's node id and its ``sidedoor`` marks."""

    def __init__(self):
        self.node_ids: list[str] = []
        self.cells: list[Cell] = []

    def pytest_collection_finish(self, session):
        for item in session.items:
            self.node_ids.append(item.nodeid)
            for mark in item.iter_markers("sidedoor"):
                args = dict(zip(("rule", "path"), mark.args, strict=False)) | mark.kwargs
                self.cells.append(Cell(str(args["rule"]), str(args["path"]), item.nodeid))


def collect(paths: tuple[str, ...] = ("tests",)) -> _Marks:
    """Collect the suite (nothing runs) and return what the plugin saw."""
    marks = _Marks()
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT), *paths],
                           plugins=[marks])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise SystemExit(f"collection failed ({code}):\n{output.getvalue()[-4000:]}")
    return marks


def _rule_key(rule: str):
    return (0, int(rule), "") if rule.isdigit() else (1, 0, rule)


def _surface(path: str) -> str:
    head = path.split(":", 1)[0].strip().lower()
    return head if head in SURFACES else "other"


_PARAMS = re.compile(r"\[.*\]$")


def _tests_cell(node_ids: list[str]) -> str:
    """Node ids of one cell; the parametrised cases of one test are one entry with their count."""
    counts: dict[str, int] = defaultdict(int)
    for node_id in node_ids:
        counts[_PARAMS.sub("", node_id)] += 1
    return "<br>".join(f"`{test}`" + (f" ×{n}" if n > 1 else "") for test, n in sorted(counts.items()))


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render(marks: _Marks) -> str:
    collected = set(marks.node_ids)
    bases = {_PARAMS.sub("", node_id) for node_id in collected}
    missing = [(f.number, test) for f in FINDINGS for test in f.tests if test not in bases]
    if missing:
        raise SystemExit("findings point at tests that are not collected: "
                         + "; ".join(f"finding {n}: {t}" for n, t in missing))

    by_cell: dict[tuple[str, str], list[str]] = defaultdict(list)
    for cell in marks.cells:
        by_cell[(cell.rule, cell.path)].append(cell.test)
    rules = sorted({rule for rule, _path in by_cell}, key=_rule_key)
    paths = sorted({path for _rule, path in by_cell})
    tests = {cell.test for cell in marks.cells}
    surfaces = [s for s in (*SURFACES, "other") if any(_surface(p) == s for _r, p in by_cell)]

    lines = [
        "# The side-door matrix (SPEC §10)",
        "",
        "<!-- Generated by `" + COMMAND + "` from the `sidedoor` marks of the suite; do not edit by hand.",
        "     tests/sidedoors/test_table.py fails when this file is out of date. -->",
        "",
        "A rule holds wherever the fact it reads can change. Each row below is one cell: a rule, one path that changes "
        "the fact it reads (browser form, API, admin, command, service, later step), and the tests that go through "
        "that path and assert the fact unchanged, or the rule asked again, and the refusal recorded.",
        "",
        "## Size",
        "",
        f"- **{len(rules)} rules × {len(paths)} paths**, **{len(by_cell)} cells** (rule–path pairs with a test), "
        f"proved by **{len(tests)} test cases** (parametrised cases counted one by one).",
        "",
        "| rule | " + " | ".join(surfaces) + " | cells | tests |",
        "|---|" + "---:|" * (len(surfaces) + 2),
    ]
    for rule in rules:
        cells = [path for r, path in by_cell if r == rule]
        per_surface = [sum(1 for p in cells if _surface(p) == s) for s in surfaces]
        rule_tests = {t for (r, _p), ts in by_cell.items() if r == rule for t in ts}
        lines.append(f"| {_md(RULES.get(rule, rule))} | " + " | ".join(str(n or "") for n in per_surface)
                     + f" | {len(cells)} | {len(rule_tests)} |")
    lines += ["", "## Cells", ""]
    for rule in rules:
        lines += [f"### {_md(RULES.get(rule, rule))}", "", "| path | tests |", "|---|---|"]
        for path in sorted(p for r, p in by_cell if r == rule):
            lines.append(f"| {_md(path)} | {_tests_cell(by_cell[(rule, path)])} |")
        lines.append("")
    lines += [
        "## Finding → regression test (issue 13)",
        "",
        "Each finding of issue 13, the surface where it was found, and the tests that failed before its fix and pass "
        "now, through that surface.",
        "",
        "| # | finding | found through | regression tests |",
        "|---:|---|---|---|",
    ]
    for finding in FINDINGS:
        tests_text = "<br>".join(f"`{t}`" for t in finding.tests)
        lines.append(f"| {finding.number} | {_md(finding.title)} | {_md(finding.surface)} | {tests_text} |")
    unknown = [rule for rule in rules if rule not in RULES]
    if unknown:
        raise SystemExit(f"sidedoor marks with a rule this table does not know: {unknown}; add it to RULES")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stdout", action="store_true", help="print the table instead of writing " + str(OUTPUT))
    args = parser.parse_args(argv)
    text = render(collect())
    if args.stdout:
        sys.stdout.write(text)
    else:
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
