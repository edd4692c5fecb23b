"""Guards for review and approval (SPEC §3 rule 11)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from loancenter.lib.errors import Forbidden


def approver_within_authority(user, amount: Decimal) -> None:
    """Rule 11: an approver decides only up to their personal authority limit (授权额度); above it, escalate."""
    limit = user.approval_limit
    if limit is None or amount > limit:
        raise Forbidden(
            "authority_limit",
            _("Amount %(amount)s exceeds your authority limit %(limit)s; escalate it to the branch (rule 11).")
            % {"amount": f"{amount:,.2f}", "limit": f"{limit:,.2f}" if limit is not None else _("none")},
        )
