"""Pure guards of uploads: which codes a file may carry, which posts handle which paper (SPEC §11, §14)."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from applications.catalog import CUSTOMER_FILE_CODES, DOCUMENTS, LOAN_FILE_CODES, document_label
from loancenter import posts as P
from loancenter.lib.errors import Forbidden, RuleViolation

# Who may upload at all (SPEC §14): checked before anything the caller sent is read (§16.2).
UPLOAD_POSTS = (P.MARKETING, P.INVESTIGATOR, P.MORTGAGE_CLERK, P.DISBURSEMENT, P.ARCHIVIST, P.GENERAL)

# Who handles which paper. The archivist scans every paper of the folder; the rest by their duties (SPEC §1).
_BORROWER_PAPERS = frozenset({P.MARKETING, P.INVESTIGATOR, P.ARCHIVIST})
_COLLATERAL_PAPERS = frozenset({P.MARKETING, P.INVESTIGATOR, P.MORTGAGE_CLERK, P.ARCHIVIST})
PAPER_POSTS = {
    "property_certificate": _COLLATERAL_PAPERS, "disposer_consent": _COLLATERAL_PAPERS,
    "appraisal_report": _COLLATERAL_PAPERS, "insurance_policy": _COLLATERAL_PAPERS,
    "vehicle_invoice": _COLLATERAL_PAPERS, "purchase_contract": _COLLATERAL_PAPERS,
    "site_photo": frozenset({P.INVESTIGATOR, P.ARCHIVIST}),
    "signed_contract": frozenset({P.MARKETING, P.MORTGAGE_CLERK, P.DISBURSEMENT, P.ARCHIVIST}),
    "stamped_receipt": frozenset({P.DISBURSEMENT, P.ARCHIVIST}),
    "postloan_photo": frozenset({P.MARKETING, P.GENERAL, P.ARCHIVIST}),
    "fund_use_proof": frozenset({P.MARKETING, P.GENERAL, P.ARCHIVIST}),
    "credit_report": frozenset({P.MARKETING, P.INVESTIGATOR, P.GENERAL, P.ARCHIVIST}),
    "collection_evidence": frozenset({P.MARKETING, P.GENERAL, P.ARCHIVIST}),
    "collateral_valuation": frozenset({P.MARKETING, P.GENERAL, P.MORTGAGE_CLERK, P.ARCHIVIST}),
}


def loan_codes(product) -> list[str]:
    """The codes a loan's files may carry: its product's required documents, then those every loan may carry."""
    codes = [c for c in product.required_documents or [] if c in DOCUMENTS]
    return codes + [c for c in LOAN_FILE_CODES if c not in codes]


def check_code(code: str, allowed: Iterable[str]) -> None:
    if code not in set(allowed):
        raise RuleViolation("unknown_document", _("Unknown document code %(code)s for this folder; expected one of: "
                                                  "%(codes)s.") % {"code": code[:40], "codes": ", ".join(allowed)},
                            field="code")


def check_customer_code(code: str) -> None:
    check_code(code, CUSTOMER_FILE_CODES)


def check_handles_paper(user, code: str) -> None:
    """403 unless one of ``user``'s posts handles this paper (an investigator files site photos, not the receipt)."""
    posts = PAPER_POSTS.get(code, _BORROWER_PAPERS)
    if not (set(user.posts) & posts):
        raise Forbidden("post_required", _("%(paper)s is filed by: %(posts)s.") % {
            "paper": document_label(code),
            "posts": " / ".join(str(P.POST_LABELS[p]) for p in P.ALL_POSTS if p in posts)})


def missing_files(required: Iterable[str], present: Iterable[str]) -> list[str]:
    """Rule 5 on files (SPEC §11, §16.9): the required codes with no live file."""
    present = set(present)
    return [code for code in required if code not in present]
