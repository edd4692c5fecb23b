"""Rule 30: ``create_staff`` stays the operator's bootstrap and records what it did in the audit trail."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from loancenter.models import AuditEntry, StaffRequest, User


@pytest.mark.django_db
def test_create_staff_records_the_account_its_posts_and_limit_with_the_operator_as_actor():
    call_command("create_staff", "zhao6", "--posts", "approver,branch_approver", "--approval-limit", "800000",
                 "--password", "long-enough-2026", stdout=StringIO())

    user = User.objects.get(username="zhao6")
    assert user.posts == {"approver", "branch_approver"}  # the operator's bootstrap grants at once
    assert not StaffRequest.objects.exists()
    entry = AuditEntry.objects.get(action="staff_create", object_id=str(user.pk))
    assert entry.actor is None
    assert entry.payload == {"by": "operator", "username": "zhao6", "posts": ["approver", "branch_approver"],
                             "approval_limit": "800000.00", "is_active": True, "usable_password": True,
                             "unit": "CENTER"}
    assert AuditEntry.objects.get(action="staff_posts", object_id=str(user.pk)).actor is None


@pytest.mark.django_db
def test_create_staff_without_limit_or_password_says_so_in_the_audit_trail():
    call_command("create_staff", "qian7", "--posts", "archivist", stdout=StringIO())

    payload = AuditEntry.objects.get(action="staff_create", object_id=str(User.objects.get(username="qian7").pk)).payload
    assert (payload["posts"], payload["approval_limit"], payload["usable_password"]) == (["archivist"], None, False)
