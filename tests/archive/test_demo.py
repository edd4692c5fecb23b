"""seed_archive fills the folders of existing loans with a realistic mix."""

from __future__ import annotations

import random

from applications.models import Status
from archive.models import Folder, Inspection, Lending, LoanFile
from archive.selectors import overdue_lendings
from demo.archive import seed_archive
from tests.archive.conftest import settle
from tests.factories import CustomerFactory, LoanFactory


def test_seed_archive_gives_complete_incomplete_out_and_one_overdue(staff, flow, product):
    loans = [
        flow.advance(LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product,
                                 marketing_officer=staff.mkt), to)
        for to in (Status.APPROVED, Status.ACTIVE, Status.ACTIVE, Status.ACTIVE, Status.ACTIVE)
    ]
    settled = settle(staff, loans[-1])

    result = seed_archive(random.Random(7))

    assert result.folders == Folder.objects.count() == 5
    assert result.complete == [settled.pk] and LoanFile.objects.get(loan=settled).completed_at is not None
    assert result.incomplete  # some files still wait for papers
    assert len(result.out) == 1 and len(result.overdue) == 1
    assert [lending.lending_no for lending in overdue_lendings()] == result.overdue
    assert Lending.objects.filter(status=Lending.REQUESTED).count() == 1
    assert Lending.objects.filter(status=Lending.RETURNED).count() == 1
    assert Inspection.objects.count() == 1
