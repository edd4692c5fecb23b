"""Two units: the center (every persona of tests/conftest.py) and a sub-center EAST with staff of its own."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from loancenter.models import Unit
from loancenter.services import staff_create
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, LoanFactory

EAST_PERSONAS = {
    "e_mkt": ["marketing"],
    "e_inv": ["investigator"],
    "e_rev": ["reviewer"],
    "e_clerk": ["mortgage_clerk"],
    "e_disb": ["disbursement"],
    "e_gen": ["general"],
    "e_boss": ["manager"],
}


@pytest.fixture
def east(staff):
    """The sub-center EAST (may disburse) and its staff, made through the real services."""
    unit = Unit.objects.create(code="EAST", name="东区分中心", may_disburse=True)
    people = {name: staff_create(username=name, posts=posts, password=PASSWORD, full_name=name, unit="EAST")
              for name, posts in EAST_PERSONAS.items()}
    return SimpleNamespace(unit=unit, **people)


@pytest.fixture
def two_loans(staff, east, product):
    """One loan of each unit at every stage a post sees (pending approval: every post of §4 sees it)."""
    center_loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product,
                              marketing_officer=staff.mkt)
    east_loan = LoanFactory(customer=CustomerFactory(officer=east.e_mkt), product=product,
                            marketing_officer=east.e_mkt)
    return SimpleNamespace(center=center_loan, east=east_loan)
