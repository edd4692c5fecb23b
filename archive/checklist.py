"""The document checklist template (档案清单) and the retention defaults.

The template is configuration in code: each entry says in which section a document is filed, whether the
original must be kept, whether it goes to the vault (保单, 他项权证, 权利质物), and from which point of the
loan's life it is expected. ``expected_items(loan)`` turns it, the product's required documents and the
loan's actual contracts, receipt and mortgage certificate into the list of items the loan's file must hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from applications.catalog import DOCUMENTS
from applications.models import STAGE, Loan, Status
from loancenter.lib.dates import add_months


class Section(models.TextChoices):
    """The checklist's sections; each is also a retention category."""

    BORROWER = "borrower", gettext_lazy("Borrower's documents")
    INVESTIGATION = "investigation", gettext_lazy("Investigation and approval papers")
    LEGAL = "legal", gettext_lazy("Original legal documents")
    VOUCHER = "voucher", gettext_lazy("Accounting vouchers")
    POSTLOAN = "postloan", gettext_lazy("Post-loan papers")


# Years to keep each category after the loan ends; RetentionPeriod rows override them (docs/decisions.md).
DEFAULT_RETENTION_YEARS = {
    Section.BORROWER: 10,
    Section.INVESTIGATION: 10,
    Section.LEGAL: 10,
    Section.VOUCHER: 30,  # 《会计档案管理办法》(2015) art. 14: accounting vouchers 30 years
    Section.POSTLOAN: 10,
}

# A loan has ended (and its retention period runs) in these states.
ENDED = (Status.SETTLED, Status.WRITTEN_OFF, Status.WITHDRAWN, Status.REJECTED)
# Folders are opened once a loan is approved (SPEC §7: "each loan adds the product's checklist").
ARCHIVED_FROM_STAGE = STAGE[Status.APPROVED]


@dataclass(frozen=True)
class Spec:
    code: str
    section: str
    label: object
    original: bool = True
    vault: bool = False
    when: Callable[[Loan], bool] = lambda loan: True


def _disbursed(loan: Loan) -> bool:
    return STAGE[loan.status] >= STAGE[Status.ACTIVE] and loan.status != Status.WITHDRAWN


def _settled(loan: Loan) -> bool:
    return loan.status == Status.SETTLED


def _written_off(loan: Loan) -> bool:
    return loan.status == Status.WRITTEN_OFF


def _insured(loan: Loan) -> bool:
    return "insurance_policy" in (loan.product.required_documents or []) or loan.product.category in ("housing", "auto")


# The fixed part of the checklist, in the order the archivist files the papers.
TEMPLATE: list[Spec] = [
    Spec("loan_application", Section.BORROWER, gettext_lazy("Loan application form (借款申请书)")),
    Spec("interview_record", Section.BORROWER, gettext_lazy("Face-to-face interview record (面谈记录)")),
    Spec("credit_report", Section.BORROWER, gettext_lazy("Credit report (征信报告)"), original=False),
    Spec("investigation_report", Section.INVESTIGATION, gettext_lazy("Investigation report (调查报告)")),
    Spec("review_opinion", Section.INVESTIGATION, gettext_lazy("Review opinion (审查意见)")),
    Spec("approval_form", Section.INVESTIGATION, gettext_lazy("Approval form (审批表)")),
    Spec("decision_notice", Section.INVESTIGATION, gettext_lazy("Decision notice to the customer"), original=False),
    Spec("insurance_policy", Section.LEGAL, gettext_lazy("Insurance policy (保单)"), vault=True, when=_insured),
    Spec("disbursement_voucher", Section.VOUCHER, gettext_lazy("Disbursement voucher (放款凭证)"), when=_disbursed),
    Spec("entrusted_payment_voucher", Section.VOUCHER, gettext_lazy("Payment voucher to the counterparty (受托支付凭证)"),
         when=lambda loan: _disbursed(loan) and getattr(getattr(loan, "disbursement", None), "payment_mode", "") == "entrusted"),
    Spec("repayment_vouchers", Section.VOUCHER, gettext_lazy("Repayment vouchers (还款凭证)"),
         when=lambda loan: loan.status in (Status.SETTLED, Status.WRITTEN_OFF)),
    Spec("post_loan_check", Section.POSTLOAN, gettext_lazy("First post-loan check report (首次贷后检查报告)"), when=_disbursed),
    Spec("settlement_certificate", Section.POSTLOAN, gettext_lazy("Settlement certificate (结清证明)"), original=False,
         when=_settled),
    Spec("write_off_file", Section.POSTLOAN, gettext_lazy("Write-off approval file (核销审批资料)"), when=_written_off),
]
SPECS = {spec.code: spec for spec in TEMPLATE}

# The product's required documents (applications.catalog.DOCUMENTS) whose original the file must keep;
# the others (ID card, household register, statements…) are kept as verified copies.
ORIGINAL_DOCUMENTS = frozenset({"credit_authorization", "disposer_consent", "appraisal_report", "purchase_contract"})

CONTRACT_LABELS = {
    "loan": gettext_lazy("Loan contract"),
    "guarantee": gettext_lazy("Guarantee contract"),
    "mortgage": gettext_lazy("Mortgage contract"),
}
DYNAMIC_LABELS = {
    "receipt": gettext_lazy("Loan receipt (借据)"),
    "certificate": gettext_lazy("Mortgage certificate (他项权证)"),
    "pledge": gettext_lazy("Pledged right (权利质物)"),
}


@dataclass(frozen=True)
class Expected:
    code: str
    section: str
    reference: str = ""
    original: bool = True
    vault: bool = False


def expected_items(loan: Loan) -> list[Expected]:
    """What the loan's file must hold now: the template, the product's documents and the signed papers."""
    rows: list[Expected] = []
    required_docs = list(loan.product.required_documents or [])
    for spec in TEMPLATE[:3]:
        rows.append(Expected(spec.code, spec.section, original=spec.original))
    for code in required_docs:
        if code == "insurance_policy":
            continue  # filed with the legal documents, in the vault
        rows.append(Expected(f"doc:{code}", Section.BORROWER, original=code in ORIGINAL_DOCUMENTS))
    if "credit_authorization" not in required_docs:
        rows.append(Expected("doc:credit_authorization", Section.BORROWER, original=True))  # rule 12a
    for spec in TEMPLATE[3:7]:
        rows.append(Expected(spec.code, spec.section, original=spec.original))
    for contract in loan.contracts.all():
        rows.append(Expected(f"{contract.kind}_contract:{contract.contract_no}", Section.LEGAL,
                             reference=contract.contract_no))
    receipt = getattr(loan, "receipt", None)
    if receipt is not None:
        rows.append(Expected("receipt", Section.LEGAL, reference=receipt.receipt_no))
    registration = getattr(loan, "collateral_registration", None)
    if registration is not None and registration.certificate_no:
        rows.append(Expected("certificate", Section.LEGAL, reference=registration.certificate_no, vault=True))
    if STAGE[loan.status] >= STAGE[Status.CONTRACT_SIGNED]:
        for collateral in loan.collaterals.all():
            if collateral.kind == "deposit":
                rows.append(Expected(f"pledge:{collateral.pk}", Section.LEGAL,
                                     reference=collateral.certificate_no or collateral.description, vault=True))
    for spec in TEMPLATE[7:]:
        if spec.when(loan):
            rows.append(Expected(spec.code, spec.section, original=spec.original, vault=spec.vault))
    return rows


# The uploaded file (applications.files, SPEC §11) that is the electronic copy of a checklist item.
_FILE_CODE_OF_ITEM = {"credit_report": "credit_report", "receipt": "stamped_receipt", "post_loan_check": "postloan_photo",
                      "insurance_policy": "insurance_policy"}


def file_code(item_code: str) -> str | None:
    """The document code whose file is this item's scan (``doc:id_card`` → ``id_card``, a contract → the signed
    contract), or None for papers that are not uploaded (vouchers, forms printed by the system)."""
    kind, _sep, rest = item_code.partition(":")
    if kind == "doc":
        return rest
    if kind.endswith("_contract"):
        return "signed_contract"
    return _FILE_CODE_OF_ITEM.get(item_code)


def item_label(item) -> str:
    code = item.code
    if code in SPECS:
        return str(SPECS[code].label)
    kind, _sep, rest = code.partition(":")
    if kind == "doc":
        return str(DOCUMENTS.get(rest, rest))
    if kind.endswith("_contract"):
        return f"{CONTRACT_LABELS.get(kind.removesuffix('_contract'), kind)} {rest}"
    if kind in DYNAMIC_LABELS:
        return f"{DYNAMIC_LABELS[kind]} {item.reference}".strip()
    return code


def loan_ended_on(loan: Loan) -> date | None:
    """The day the loan ended (settled, written off, withdrawn, rejected): retention runs from here."""
    if loan.status not in ENDED:
        return None
    return timezone.localtime(loan.status_changed_at).date()


def retention_years(category: str, overrides: dict[str, int]) -> int:
    """``overrides``: the RetentionPeriod rows (``archive.selectors.retention_overrides``)."""
    return overrides.get(category, DEFAULT_RETENTION_YEARS.get(category, 10))


def retention_until(item, loan: Loan, overrides: dict[str, int]) -> date | None:
    ended = loan_ended_on(loan)
    if ended is None:
        return None
    return add_months(ended, 12 * retention_years(item.section, overrides))


def section_label(code: str) -> str:
    return str(Section(code).label) if code in Section.values else _(code)
