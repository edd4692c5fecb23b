"""The posts (岗位) of SPEC §1. Each is a ``Group`` whose name is the post code."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

MARKETING = "marketing"
INVESTIGATOR = "investigator"
REVIEWER = "reviewer"
APPROVER = "approver"
BRANCH_APPROVER = "branch_approver"
MORTGAGE_CLERK = "mortgage_clerk"
DISBURSEMENT = "disbursement"
ARCHIVIST = "archivist"
GENERAL = "general"
MANAGER = "manager"

POST_LABELS = {
    MARKETING: _("Marketing (account manager)"),
    INVESTIGATOR: _("Investigator"),
    REVIEWER: _("Reviewer"),
    APPROVER: _("Approver (center head)"),
    BRANCH_APPROVER: _("Branch approver"),
    MORTGAGE_CLERK: _("Mortgage clerk"),
    DISBURSEMENT: _("Disbursement officer"),
    ARCHIVIST: _("Archivist"),
    GENERAL: _("General post"),
    MANAGER: _("Center manager"),
}
ALL_POSTS = tuple(POST_LABELS)

# Posts that see every loan and customer (SPEC §4, data scope).
SEE_ALL_POSTS = frozenset({GENERAL, ARCHIVIST, MANAGER})
# Posts whose work needs the full ID and phone numbers (SPEC §4; docs/decisions.md).
FULL_PII_POSTS = frozenset({MARKETING, INVESTIGATOR, REVIEWER, GENERAL})
# SPEC §1: the mortgage clerk may never also hold these posts.
MORTGAGE_CLERK_EXCLUDES = frozenset({REVIEWER, APPROVER, DISBURSEMENT})
