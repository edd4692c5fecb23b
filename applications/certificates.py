"""Rule 28: one certificate backs one live loan (SPEC §10, §16.16).

A guard that reads other loans' collateral, so it lives above the models (``applications.rules`` holds the pure
guards the models' transitions use).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from applications.models import Collateral
from loancenter.lib.errors import RuleViolation
from loancenter.lib.identifiers import normalise_certificate_no

# A loan in one of these states no longer holds its collateral (rule 28); a written-off loan still does.
CERTIFICATE_RELEASED = ("settled", "withdrawn", "rejected")


def check_certificates_free(collaterals: Iterable, *, loan=None) -> None:
    """Rule 28: one certificate backs one live loan (SPEC §10, §16.16).

    ``collaterals`` are ``Collateral`` rows or the dicts of an application's input; their certificate numbers are
    compared in their normal form (rule 25). Refused when one is listed twice, or when it backs a loan other than
    ``loan`` that is not settled, withdrawn or rejected — the refusal names that loan. Checked when the collateral is
    entered and again at submit, review and approval, and collateral registration.
    """
    numbers: list[str] = []
    for item in collaterals:
        raw = item.get("certificate_no", "") if isinstance(item, dict) else item.certificate_no
        number = normalise_certificate_no(raw)
        if not number:
            continue
        if number in numbers:
            raise RuleViolation("certificate_listed_twice", _("Certificate %(no)s is listed twice.") % {"no": number},
                                field="collaterals")
        numbers.append(number)
    if not numbers:
        return
    other = (
        Collateral.objects.filter(certificate_no__in=numbers)
        .exclude(loan__status__in=CERTIFICATE_RELEASED)
        .exclude(loan_id=getattr(loan, "pk", None))
        .select_related("loan")
        .order_by("loan_id")
        .first()
    )
    if other is not None:
        raise RuleViolation(
            "certificate_in_use",
            _("Certificate %(no)s already backs loan %(loan)s, which is not settled, withdrawn or rejected (rule 28).")
            % {"no": other.certificate_no, "loan": other.loan.application_no or other.loan_id},
            field="collaterals",
        )
