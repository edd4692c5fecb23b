"""Guards for review and approval (SPEC §3 rule 11)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from loancenter.lib.errors import Forbidden


def approver_within_authority(user, exposure: Decimal) -> None:
    """Rule 11: an approver decides only up to their personal authority limit (授权额度); above it, escalate.

    Rule 27: what is measured is the customer's exposure (applications.selectors.customer_exposure), not the loan's
    amount alone, so that a loan split in pieces still needs the right approver.
    """
    limit = user.approval_limit
    if limit is None or exposure > limit:
        raise Forbidden(
            "authority_limit",
            _("The customer's exposure %(amount)s (this loan with their other loans and guarantees, rule 27) exceeds "
              "your authority limit %(limit)s; escalate it to the branch (rule 11).")
            % {"amount": f"{exposure:,.2f}", "limit": f"{limit:,.2f}" if limit is not None else _("none")},
        )
