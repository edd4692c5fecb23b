"""python manage.py verify_documents (SPEC §11, issue 17 part 9)."""

from __future__ import annotations

import pytest
from django.core.files.storage import storages
from django.core.management import CommandError, call_command

from tests.factories import LoanFactory


def test_a_file_changed_or_removed_behind_the_apps_back_is_named(staff, product, customer, capsys):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
    call_command("verify_documents")
    assert "verified 2 files: 2 ok, 0 changed, 0 missing" in capsys.readouterr().out

    id_card, income = loan.files.order_by("code")
    path = storages["documents"].path(income.storage_name)
    with open(path, "r+b") as handle:  # one byte flipped on disk, as a disk fault or an intruder would
        first = handle.read(1)
        handle.seek(0)
        handle.write(bytes([first[0] ^ 0x01]))
    storages["documents"].delete(id_card.storage_name)

    with pytest.raises(CommandError, match="2 files: 0 ok, 1 changed, 1 missing"):
        call_command("verify_documents")
    err = capsys.readouterr().err
    assert f"CHANGED document {income.pk} (loan {loan.pk}, income_proof v1" in err
    assert f"MISSING document {id_card.pk} (loan {loan.pk}, id_card v1" in err
