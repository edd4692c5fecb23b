from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from loancenter.models import AuditEntry, User

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_staff", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_create_staff_gives_posts_limit_and_a_working_password():
    output = run("zhang3", "--posts", "approver,investigator", "--approval-limit", "300000",
                 "--password", "long-enough-2026", "--name", "张三")

    user = User.objects.get(username="zhang3")
    assert user.posts == {"approver", "investigator"}
    assert user.approval_limit == Decimal("300000.00")
    assert user.first_name == "张三"
    assert user.check_password("long-enough-2026")
    assert output.strip() == "Created staff zhang3 in unit CENTER with posts: approver, investigator, approval limit 300,000.00"
    assert AuditEntry.objects.filter(action="staff_posts", object_id=str(user.pk)).count() == 1


@pytest.mark.django_db
def test_create_staff_without_password_cannot_log_in_and_says_so():
    output = run("li4", "--posts", "archivist", "--id-number", "11010119850615006x")

    user = User.objects.get(username="li4")
    assert not user.has_usable_password()
    assert user.id_number == "11010119850615006X"
    assert "cannot log in yet" in output


@pytest.mark.parametrize("clash", ["reviewer", "approver", "disbursement"])
@pytest.mark.django_db
def test_mortgage_clerk_with_a_conflicting_post_is_refused_and_nothing_written(clash):
    trail = AuditEntry.objects.count()
    with pytest.raises(CommandError, match="mortgage clerk post may not be held together with"):
        run("wang5", "--posts", f"mortgage_clerk,{clash}", "--password", "long-enough-2026")

    assert not User.objects.filter(username="wang5").exists()
    assert AuditEntry.objects.count() == trail


@pytest.mark.django_db
def test_unknown_post_is_refused_by_name():
    with pytest.raises(CommandError, match="Unknown post.*teller"):
        run("zhao6", "--posts", "marketing,teller")
    assert not User.objects.filter(username="zhao6").exists()


@pytest.mark.django_db
def test_taken_username_is_refused_and_the_existing_user_keeps_their_posts():
    run("sun7", "--posts", "marketing")
    with pytest.raises(CommandError, match="sun7 is taken"):
        run("sun7", "--posts", "general")
    assert User.objects.get(username="sun7").posts == {"marketing"}


@pytest.mark.parametrize(("args", "message"), [
    (["--approval-limit", "-5"], "non-negative"),
    (["--approval-limit", "12.345"], "two decimals"),
    (["--approval-limit", "lots"], "not an amount"),
    (["--id-number", "110101198506150021"], "check character"),
    (["--password", "short"], "too short"),
])
@pytest.mark.django_db
def test_bad_values_are_refused_with_a_clear_message(args, message):
    with pytest.raises(CommandError, match=message):
        run("qian8", "--posts", "approver", *args)
    assert not User.objects.filter(username="qian8").exists()
    assert not Group.objects.filter(user__username="qian8").exists()


def test_post_conflict_exits_non_zero_with_the_message_on_stderr(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(SQLITE_PATH=str(tmp_path / "empty.sqlite3"), LANGUAGE="en")
    result = subprocess.run(
        [sys.executable, "manage.py", "create_staff", "wu9", "--posts", "mortgage_clerk,approver", "--skip-checks"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "CommandError" in result.stderr
    assert "approver" in result.stderr.lower() or "审批" in result.stderr
    assert result.stdout == ""


@pytest.mark.sidedoor(rule="auth", path="command: create_staff --password")
@pytest.mark.parametrize(("password", "message"), [
    (" " * 8, "only of spaces"),
    ("\t \u3000 \u00a0  \n ", "only of spaces"),  # any kind of space, the full-width one included
    ("73829104657", "entirely numeric"),
    ("qian8qian", "too similar to the username"),
])
@pytest.mark.django_db
def test_a_password_the_validators_refuse_is_refused_with_their_message(password, message):
    trail = AuditEntry.objects.count()
    with pytest.raises(CommandError, match=message):
        run("qian8", "--posts", "approver", "--password", password)
    assert not User.objects.filter(username="qian8").exists()
    assert AuditEntry.objects.count() == trail


def test_eight_spaces_exit_non_zero_with_the_validators_message_on_stderr(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(SQLITE_PATH=str(tmp_path / "empty.sqlite3"), LANGUAGE="en")
    result = subprocess.run(
        [sys.executable, "manage.py", "create_staff", "wu9", "--posts", "marketing", "--password", " " * 8,
         "--skip-checks"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "only of spaces" in result.stderr or "空格" in result.stderr  # the command speaks LANGUAGE_CODE
    assert result.stdout == ""
