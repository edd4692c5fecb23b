"""The posts (岗位) of SPEC §1. Each is a ``Group`` whose name is the post code."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Post(models.TextChoices):
    MARKETING = "marketing", _("Marketing (account manager)")
    INVESTIGATOR = "investigator", _("Investigator")
    REVIEWER = "reviewer", _("Reviewer")
    APPROVER = "approver", _("Approver (center head)")
    BRANCH_APPROVER = "branch_approver", _("Branch approver")
    MORTGAGE_CLERK = "mortgage_clerk", _("Mortgage clerk")
    DISBURSEMENT = "disbursement", _("Disbursement officer")
    ARCHIVIST = "archivist", _("Archivist")
    GENERAL = "general", _("General post")
    MANAGER = "manager", _("Center manager")


# The names the code uses (``P.MARKETING``…), from the one declaration above.
MARKETING = Post.MARKETING
INVESTIGATOR = Post.INVESTIGATOR
REVIEWER = Post.REVIEWER
APPROVER = Post.APPROVER
BRANCH_APPROVER = Post.BRANCH_APPROVER
MORTGAGE_CLERK = Post.MORTGAGE_CLERK
DISBURSEMENT = Post.DISBURSEMENT
ARCHIVIST = Post.ARCHIVIST
GENERAL = Post.GENERAL
MANAGER = Post.MANAGER

POST_LABELS = dict(Post.choices)
ALL_POSTS = tuple(Post.values)

# Posts that see every loan and customer (SPEC §4, data scope).
SEE_ALL_POSTS = frozenset({GENERAL, ARCHIVIST, MANAGER})
# Posts whose work needs the full ID and phone numbers (SPEC §4; docs/decisions.md).
FULL_PII_POSTS = frozenset({MARKETING, INVESTIGATOR, REVIEWER, GENERAL})
# SPEC §1: the mortgage clerk may never also hold these posts.
MORTGAGE_CLERK_EXCLUDES = frozenset({REVIEWER, APPROVER, DISBURSEMENT})
