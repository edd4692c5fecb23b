"""Fixed catalogues: document codes, loan purposes, categories (codes in English, labels translated)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from loancenter.lib.money import RepaymentMethod

DOCUMENTS = {
    "id_card": _("ID card"),
    "household_register": _("Household register"),
    "marriage_certificate": _("Marriage certificate or single statement"),
    "income_proof": _("Proof of income"),
    "bank_statement": _("Bank statement (6 months)"),
    "credit_authorization": _("Credit-report authorisation"),
    "purchase_contract": _("Purchase contract"),
    "property_certificate": _("Property ownership certificate"),
    "vehicle_invoice": _("Vehicle invoice"),
    "business_license": _("Business licence"),
    "tax_records": _("Tax records"),
    "guarantor_id": _("Guarantor's ID card"),
    "disposer_consent": _("Consent of co-owners to mortgage"),
    "appraisal_report": _("Appraisal report"),
    "insurance_policy": _("Insurance policy"),
}

PURPOSES = {
    "home_renovation": _("Home renovation"),
    "education": _("Education"),
    "medical": _("Medical expenses"),
    "travel": _("Travel"),
    "wedding": _("Wedding"),
    "durable_goods": _("Durable consumer goods"),
    "car_purchase": _("Car purchase"),
    "house_purchase": _("House purchase"),
    "business_operation": _("Business operation / working capital"),
    "equipment": _("Business equipment"),
    # Prohibited purposes (rule 4): listed so that an application stating one is refused by name.
    "securities": _("Securities investment"),
    "futures": _("Futures"),
    "derivatives": _("Derivatives"),
    "property_down_payment": _("Down payment of property"),
    "gambling": _("Gambling"),
}
# Never allowed, whatever the product.
PROHIBITED_PURPOSES = frozenset({"securities", "futures", "derivatives", "gambling"})
# Not allowed for consumer loans (rule 4).
PROHIBITED_FOR_CONSUMER = frozenset({"property_down_payment"})

class Category(models.TextChoices):
    CONSUMER = "consumer", _("Consumer")
    BUSINESS = "business", _("Business")
    HOUSING = "housing", _("Housing")
    AUTO = "auto", _("Auto")


CATEGORY_CONSUMER = Category.CONSUMER
CATEGORY_BUSINESS = Category.BUSINESS
CATEGORY_HOUSING = Category.HOUSING
CATEGORY_AUTO = Category.AUTO
CATEGORIES = dict(Category.choices)

REPAYMENT_METHOD_LABELS = dict(RepaymentMethod.choices)  # the methods are declared in loancenter.lib.money

COLLATERAL_KINDS = {
    "property": _("Real estate"),
    "vehicle": _("Vehicle"),
    "deposit": _("Time deposit / certificate"),
    "other": _("Other"),
}

RELATIONSHIPS = {
    "spouse": _("Spouse"),
    "parent": _("Parent"),
    "child": _("Child"),
    "relative": _("Relative"),
    "friend": _("Friend"),
    "business_partner": _("Business partner"),
    "employer": _("Employer"),
}

# Files every loan may carry whatever its product lists (SPEC §11): the investigation's site photos, the signed
# contracts, the receipt with the disbursement stamp, post-loan check photos, the borrower's proof of use of funds
# and credit reports.
LOAN_FILE_CODES = {
    "site_photo": _("Site photo (investigation)"),
    "signed_contract": _("Signed contract"),
    "stamped_receipt": _("Loan receipt with disbursement stamp"),
    "postloan_photo": _("Post-loan check photo"),
    "fund_use_proof": _("Proof of use of funds"),
    "credit_report": _("Credit report"),
    "collection_evidence": _("Collection evidence (the debtor's situation)"),
    "collateral_valuation": _("Collateral revaluation report"),
}
# Papers of the customer's folder rather than of one loan (SPEC §16.8): the ID scans and the credit-report
# authorisation, also uploaded on their own through /api/customers/{id}/documents/.
CUSTOMER_FILE_CODES = ("id_card", "household_register", "marriage_certificate", "credit_authorization",
                       "credit_report", "guarantor_id")


def document_label(code: str) -> str:
    return str(DOCUMENTS.get(code) or LOAN_FILE_CODES.get(code) or code)

# SPEC §15: how a product is priced, and when an LPR-linked loan reprices (chosen at contract, §16.31).
RATE_TYPE_LABELS = {
    "fixed": _("Fixed rate"),
    "lpr_1y": _("1-year LPR + spread"),
    "lpr_5y": _("5-year LPR + spread"),
}
LPR_RATE_TYPES = frozenset({"lpr_1y", "lpr_5y"})
REPRICING_ANNIVERSARY, REPRICING_JANUARY = "anniversary", "january"
REPRICING_RULE_LABELS = {
    REPRICING_ANNIVERSARY: _("Each anniversary of the value date"),
    REPRICING_JANUARY: _("Each 1 January"),
}
# The (value, label) pairs the loan's repricing_rule and the signing input offer; also the API schema's one
# RepricingRuleEnum (SPEC_SETTINGS ENUM_NAME_OVERRIDES hashes the pairs, not a dict's keys).
REPRICING_RULE_CHOICES = list(REPRICING_RULE_LABELS.items())
