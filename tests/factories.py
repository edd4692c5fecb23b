"""Factories and a flow helper that moves a loan through the real services."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import factory

from applications.files.samples import sample_pdf, store_sample
from applications.models import Collateral, Customer, Guarantor, Loan, LoanDocument, Product
from loancenter.lib.dates import today
from loancenter.lib.idcard import make_id_number

_seq = itertools.count(1)
_TINY_PDF = sample_pdf("test document", size=(200, 280))


def id_number_for(birth: date, *, male: bool = True) -> str:
    """A valid ID number (GB 11643 check character) with a unique sequence."""
    n = next(_seq) % 500
    return make_id_number("110101", birth, n * 2 + (1 if male else 0))


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"prod{n}")
    name = factory.Sequence(lambda n: f"个人消费贷款{n}")
    category = "consumer"
    min_amount = Decimal("1000.00")
    max_amount = Decimal("500000.00")
    min_term_months = 6
    max_term_months = 60
    repayment_methods = ["equal_installment", "equal_principal", "interest_only", "bullet"]
    min_rate = Decimal("0.030000")
    max_rate = Decimal("0.120000")
    secured = False
    max_ltv = None
    max_dti = Decimal("0.5000")
    dual_investigation = False
    investigation_rate = Decimal("1.0000")
    max_age_at_maturity = 65
    penalty_markup = Decimal("0.5000")
    required_documents = ["id_card", "income_proof"]
    allowed_purposes: list = []


class SecuredProductFactory(ProductFactory):
    category = "housing"
    name = factory.Sequence(lambda n: f"个人住房贷款{n}")
    max_amount = Decimal("3000000.00")
    max_term_months = 360
    secured = True
    max_ltv = Decimal("0.7000")
    required_documents = ["id_card", "income_proof", "property_certificate"]


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Iterator(["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强"])
    id_number = factory.LazyFunction(lambda: id_number_for(date(1985, 6, 15)))
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    address = "北京市东城区东长安街1号"
    employer = "某某科技有限公司"
    occupation = "工程师"
    monthly_income = Decimal("20000.00")
    monthly_debt_payment = Decimal("1000.00")
    civil_capacity = "full"
    officer = None  # pass the marketing officer


class LoanFactory(factory.django.DjangoModelFactory):
    """A draft application that passes every submit rule (documents, interview, authorisation)."""

    class Meta:
        model = Loan
        skip_postgeneration_save = True

    customer = None
    product = None
    marketing_officer = None
    amount = Decimal("100000.00")
    term_months = 36
    repayment_method = "equal_installment"
    purpose = "home_renovation"
    interviewed_on = factory.LazyFunction(lambda: today() - timedelta(days=1))
    credit_authorised = True
    application_no = factory.Sequence(lambda n: f"GDTEST{n:06d}")

    @factory.post_generation
    def documents(self, create, extracted, **kwargs):
        codes = self.product.required_documents if extracted is None else extracted
        LoanDocument.objects.bulk_create([LoanDocument(loan=self, code=c) for c in codes])

    @factory.post_generation
    def files(self, create, extracted, **kwargs):
        """Rule 5 reads files (SPEC §16.9): by default a file for each paper received (``documents``)."""
        codes = list(self.documents.values_list("code", flat=True)) if extracted is None else extracted
        add_files(self, codes)


def file_received_papers(loan: Loan) -> None:
    """Files for the papers received (the ``documents`` column) that have none yet: what the marketing officer
    uploads before submit (rule 5 reads files, SPEC §16.9). Loans entered through the API or a form get them here."""
    from applications.files.selectors import live_codes

    have = live_codes(loan)
    add_files(loan, [c for c in loan.documents.values_list("code", flat=True) if c not in have])


def add_files(loan: Loan, codes) -> None:
    """A small PDF in storage for each code, uploaded by the loan's marketing officer (cheap: no inspection)."""
    for code in codes:
        store_sample(customer_id=loan.customer_id, loan=loan, code=code, by=loan.marketing_officer, content=_TINY_PDF)


def add_authorisation(customer: Customer, *, by, loan: Loan | None = None):
    """The customer's credit-report authorisation as a file (what a credit-bureau query relies on, SPEC rule 22):
    the next version in their folder, or in ``loan``'s files."""
    return store_sample(customer_id=customer.pk, loan=loan, code="credit_authorization", by=by, content=_TINY_PDF,
                        name="征信授权书.pdf")


def add_credit_report(customer: Customer, *, by, loan: Loan | None = None):
    """The customer's credit report as a file (what a credit-bureau query may attach, SPEC §12): the next version in
    their folder, or in ``loan``'s files."""
    return store_sample(customer_id=customer.pk, loan=loan, code="credit_report", by=by, content=_TINY_PDF,
                        name="征信报告.pdf")


def add_guarantor(loan: Loan, customer: Customer, relationship: str = "spouse") -> Guarantor:
    return Guarantor.objects.create(loan=loan, customer=customer, relationship=relationship)


def add_collateral(loan: Loan, *, value: Decimal = Decimal("1000000.00"), appraised_on: date | None = None,
                   consent: bool = True, certificate_no: str = "京(2025)东城区不动产权第0001号") -> Collateral:
    return Collateral.objects.create(
        loan=loan, kind="property", description="东城区某小区1号楼101", owner_name=loan.customer.name,
        certificate_no=certificate_no, appraised_value=value, appraised_on=appraised_on or today() - timedelta(days=10),
        disposer_consent=consent,
    )
