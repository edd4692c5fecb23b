from django.db import models

from applications.models import Status


def test_happy_path_reaches_approved_with_one_audit_row_per_step(flow, draft):
    loan = flow.advance(draft, Status.APPROVED)
    assert loan.status == Status.APPROVED
    # Other apps may add rows for side effects (the archive opens the folder); the steps' own rows are these.
    actions = list(loan.audit_entries.exclude(from_status=models.F("to_status")).values_list("action", "from_status", "to_status"))
    assert actions == [
        ("submit", "draft", "submitted"),
        ("start_investigation", "submitted", "investigating"),
        ("complete_investigation", "investigating", "under_review"),
        ("pass_review", "under_review", "pending_approval"),
        ("approve", "pending_approval", "approved"),
    ]
