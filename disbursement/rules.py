"""Guards for contract, collateral registration, receipt and disbursement (SPEC §3 rules 13–17)."""

from __future__ import annotations


def later_roles_of(loan, user) -> set[str]:
    """Separation-of-duty roles a user took on the loan at the contract/disbursement stage."""
    from applications.rules import DISBURSER, REGISTRAR

    held = set()
    if getattr(loan, "collateral_registrar_id", None) == user.pk:
        held.add(REGISTRAR)
    if getattr(loan, "disburser_id", None) == user.pk:
        held.add(DISBURSER)
    return held
