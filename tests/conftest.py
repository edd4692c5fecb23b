"""Personas (like healthchecks' Alice/Bob/Charlie) and a helper that drives a loan through the real services."""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError
from django.test.utils import override_settings
from django.utils import translation

from applications.models import Loan, Status
from applications.workflow import STEPS, targets
from disbursement.services import certificate_hand_over
from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.services import staff_create
from loancenter.transitions import perform
from tests.factories import CustomerFactory, LoanFactory, ProductFactory, file_received_papers

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "test-pass-123"
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
User = get_user_model()


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    # Argon2 is the production hasher (tested on its own); MD5 keeps persona creation fast in tests.
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(autouse=True)
def _english_by_default(settings):
    """Tests assert the English msgids; the product's default is zh-hans, tested in tests/test_i18n.py."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _tasks_in_process():
    """Celery tasks run in-process in tests, even with REDIS_URL set; the worker test switches this off itself."""
    from loancenter.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(scope="session")
def _documents_root(tmp_path_factory):
    return tmp_path_factory.mktemp("documents")


@pytest.fixture(autouse=True)
def _document_storage(settings, _documents_root):
    """Uploaded files go to a temporary folder of the test session, never to the project's media/ folder."""
    settings.STORAGES = {**settings.STORAGES, "documents": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(_documents_root)}}}


PERSONAS = {
    "mkt": (["marketing"], None),
    "mkt2": (["marketing"], None),
    "inv": (["investigator"], None),
    "inv2": (["investigator"], None),
    "rev": (["reviewer"], None),
    "appr": (["approver"], Decimal("200000.00")),
    "branch": (["branch_approver"], Decimal("5000000.00")),
    "clerk": (["mortgage_clerk"], None),
    "disb": (["disbursement"], None),
    "arch": (["archivist"], None),
    "gen": (["general"], None),
    "boss": (["manager"], None),
    "outsider": ([], None),
}


@pytest.fixture
def staff(db):
    """Every persona, created through the real ``staff_create`` service (password ``PASSWORD``) once per test database
    and committed (``ensure_baseline``); each test reads them afresh, and its own changes to them are rolled back with it."""
    people = {user.username: user for user in User.objects.filter(username__in=PERSONAS)}
    if len(people) != len(PERSONAS):  # emptied since (a flush the teardown hook did not see): made in this test
        ensure_baseline()
        people = {user.username: user for user in User.objects.filter(username__in=PERSONAS)}
    return SimpleNamespace(**{name: people[name] for name in PERSONAS})


@pytest.fixture
def without_personas(db):
    """A database with no staff yet, as ``make run`` finds it: the personas (committed once per worker, see
    ``ensure_baseline``) are removed inside the test's transaction, so they are back for the next test."""
    User.objects.filter(username__in=PERSONAS).delete()


@pytest.fixture
def product(db):
    return ProductFactory(code="consumer")


@pytest.fixture
def customer(staff):
    return CustomerFactory(officer=staff.mkt)


@pytest.fixture
def draft(staff, product, customer):
    return LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)


# The canonical payload of each origination transition, as an integrating system would send it.
def payloads(staff, loan: Loan) -> dict[str, dict]:
    amount = str(loan.amount)
    return {
        "submit": {},
        "start_investigation": {},
        "complete_investigation": {
            "investigators": [staff.inv.username] + ([staff.inv2.username] if loan.product.dual_investigation else []),
            "field_visit_on": today().isoformat(), "identity_verified": True, "income_verified": True,
            "purpose_verified": True, "guarantors_verified": True, "collateral_verified": True,
            "opinion": "recommend", "recommended_amount": amount, "recommended_term_months": loan.term_months,
            "comment": "收入稳定,用途真实",
        },
        "cosign_investigation": {"agree": True, "comment": "同意调查结论"},
        "pass_review": {"opinion": "资料齐全,合规", "amount": amount, "term_months": loan.term_months,
                        "annual_rate": "0.0435", "repayment_method": loan.repayment_method},
        "approve": {"amount": amount, "term_months": loan.term_months, "annual_rate": "0.0435",
                    "repayment_method": loan.repayment_method, "reason": "同意"},
        "sign_contract": {"contract_no": f"HT{loan.pk:08d}", "signed_on": today().isoformat()},
        "register_collateral": {"registry": "北京市东城区不动产登记中心", "registered_on": today().isoformat(),
                                "certificate_no": f"京(2026)东城区不动产证明第{loan.pk:07d}号"},
        "prepare_receipt": {"value_date": today().isoformat()},
        "disburse": {"disbursed_on": today().isoformat(), "payee_account": "6222020200112233445",
                     "payment_mode": "entrusted"},
    }


# Who performs each step on the happy path: the persona holding the first post the step names (its declaration on
# applications.models.Loan); the path is the steps the model marks ``forward``, in the order it declares them.
PERSONA_OF_POST = {P.MARKETING: "mkt", P.INVESTIGATOR: "inv", P.REVIEWER: "rev", P.APPROVER: "appr",
                   P.MORTGAGE_CLERK: "clerk", P.DISBURSEMENT: "disb", P.GENERAL: "gen"}
ACTORS = {name: PERSONA_OF_POST[step.posts[0]] for name, step in STEPS.items()}
PATH = [(targets(step.transitions[0])[0], name) for name, step in STEPS.items()  # register_collateral: secured only
        if any(t.custom["forward"] for t in step.transitions)]


def cosign_if_waiting(staff, loan: Loan, cosigner=None) -> None:
    """A two-person product's report waits for the second investigator (rule 26): ``inv2`` (or ``cosigner``) agrees."""
    loan.refresh_from_db()
    if loan.status == Status.INVESTIGATING and "cosign_investigation" in {
        t.name for t in loan.get_available_status_transitions()
    }:
        perform("cosign_investigation", loan_id=loan.pk, actor=cosigner or staff.inv2,
                data=payloads(staff, loan)["cosign_investigation"])


@dataclass
class Flow:
    staff: SimpleNamespace

    def advance(self, loan: Loan, to: str) -> Loan:
        """Move ``loan`` along the happy path through the real services until it reaches status ``to``.

        Works from any state on the path: steps already behind the loan are skipped.
        """
        loan.refresh_from_db()
        reached = [status for status, _name in PATH]
        start = reached.index(loan.status) + 1 if loan.status in reached else 0
        for _status, name in PATH[start:]:
            loan.refresh_from_db()
            if loan.status == to:
                return loan
            if name == "register_collateral" and not loan.product.secured:
                continue
            if name == "prepare_receipt" and loan.product.secured:
                certificate_hand_over(loan_id=loan.pk, actor=self.staff.clerk, to_user=self.staff.disb)
            actor = getattr(self.staff, ACTORS[name])
            if name == "submit":
                file_received_papers(loan)
            perform(name, loan_id=loan.pk, actor=actor, data=payloads(self.staff, loan)[name])
            cosign_if_waiting(self.staff, loan)
        loan.refresh_from_db()
        assert loan.status == to, f"could not reach {to}, stuck at {loan.status}"
        return loan


@pytest.fixture
def flow(staff):
    return Flow(staff)


# What data migrations load and the code reads as reference data: (migration module, its loading function, the model).
_REFERENCE_DATA = [
    ("loancenter.migrations.0010_units_center", "make_center", "loancenter.Unit"),
    ("applications.migrations.0019_customer_region_industry", "add_sections", "applications.Industry"),
    ("archive.migrations.0002_retention_defaults", "seed", "archive.RetentionPeriod"),
    ("postloan.migrations.0012_signal_catalogue", "load", "postloan.SignalType"),
    ("applications.migrations.0023_default_scorecards", "create", "applications.ScorecardVersion"),
]


def ensure_baseline() -> None:
    """What every database test starts from, committed: the reference data that data migrations load (the center, the
    industry sections, the retention periods, the signal catalogue, the default scorecards) and the personas of
    ``staff`` (made by the real ``staff_create``), each made where it is missing."""
    from importlib import import_module

    from django.apps import apps

    for module, function, model in _REFERENCE_DATA:
        if not apps.get_model(model).objects.exists():
            getattr(import_module(module), function)(apps, None)
    present = set(User.objects.filter(username__in=PERSONAS).values_list("username", flat=True))
    if len(present) != len(PERSONAS):
        with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
            for name, (posts, limit) in PERSONAS.items():
                if name not in present:
                    staff_create(username=name, posts=posts, approval_limit=limit, password=PASSWORD, full_name=name)


_blocker = []


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database as migrations leave it, plus the personas, committed once per worker."""
    _blocker.append(django_db_blocker)
    with django_db_blocker.unblock():
        ensure_baseline()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A transactional test flushes every table when it ends, the migrations' rows and the personas included: they are
    made again, committed, before the next test of the worker starts (which test runs after which depends on how the
    workers share the suite), so that each test finds them without making them inside its own transaction."""
    yield
    if nextitem is not None and _blocker:
        with _blocker[0].unblock():
            try:
                ensure_baseline()
            except (InterfaceError, OperationalError):
                pass  # a test that restarted the server left a broken connection: the next test's fixtures reconnect
