"""SPEC §16.10: the normalising migration stops on customers registered twice, and ``merge_customers`` resolves them
(filed by one person, approved by another) on that very database, after which ``migrate`` runs through.

These tests make their rows, take the database back to before the normalising migration (applications 0011), write
the twin as the bank had it before rule 25 (full-width digits), and go forward again as the operator would.
"""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from applications.models import Customer, CustomerMerge, Guarantor, Loan, Status
from archive.models import Folder, LoanFile
from loancenter.models import AuditEntry, RefusedAttempt
from loancenter.services import staff_create
from tests.factories import CustomerFactory, LoanFactory, ProductFactory, id_number_for

pytestmark = pytest.mark.django_db(transaction=True)

ID = id_number_for(date(1975, 5, 5))
PLACEHOLDER = id_number_for(date(1976, 6, 6))
OTHER_ID = id_number_for(date(1977, 7, 7))
OTHER_PLACEHOLDER = id_number_for(date(1978, 8, 8))
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
BEFORE_RULE_25 = "0011_customer_merge"


def merge(*args: str) -> str:
    out = StringIO()
    call_command("merge_customers", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def before_rule_25():
    """Takes the database back to before the normalising migration and writes the twins there; puts it forward again
    (whatever happened) afterwards. The rows are made first, with today's models, so that columns added by later
    migrations do not matter: going back keeps the rows and drops those columns."""

    def make_twins(numbers: dict[Customer, str]) -> None:
        call_command("migrate", "applications", BEFORE_RULE_25, verbosity=0)
        with connection.cursor() as cursor:
            for customer, id_number in numbers.items():
                cursor.execute("UPDATE applications_customer SET id_number = %s WHERE id = %s",
                               [id_number, customer.pk])

    yield make_twins
    try:
        call_command("migrate", verbosity=0)
    except Exception:
        # A test that failed half-way leaves its twin: give it a number of its own so the next tests have a schema.
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM applications_customer ORDER BY id")
            for n, (pk,) in enumerate(cursor.fetchall()):
                cursor.execute("UPDATE applications_customer SET id_number = %s WHERE id = %s",
                               [id_number_for(date(1960, 1, 1) + (date(1960, 1, 2) - date(1960, 1, 1)) * n), pk])
        call_command("migrate", verbosity=0)
        raise


def test_the_migration_stops_on_twins_and_a_four_eyes_merge_lets_it_through(staff, flow, before_rule_25):
    """One trip back to before rule 25 for every case (each trip back and forth renders every later migration's
    state, minutes of a test worker): a merge refused between a borrower and her own guarantor and resolved another
    way, then a true twin merged by four eyes, after which the migration runs through."""
    product = ProductFactory(code="consumer")
    kept = CustomerFactory(officer=staff.mkt, id_number=ID, name="张伟")
    twin = CustomerFactory(officer=staff.mkt2, id_number=PLACEHOLDER, name="张伟", phone="13900000077",
                           on_warning_list=True)
    kept_loan = flow.advance(LoanFactory(customer=kept, product=product, marketing_officer=staff.mkt), Status.APPROVED)
    twin_loan = LoanFactory(customer=Customer.objects.get(pk=twin.pk), product=product, marketing_officer=staff.mkt2)
    third = CustomerFactory(officer=staff.mkt, name="李娜")
    guaranteed = LoanFactory(customer=third, product=product, marketing_officer=staff.mkt)
    Guarantor.objects.create(loan=guaranteed, customer=twin, relationship="relative")
    flow_twin = flow.advance(LoanFactory(customer=CustomerFactory(officer=staff.mkt, name="赵敏"), product=product,
                                         marketing_officer=staff.mkt), Status.APPROVED)
    Loan.objects.filter(pk=flow_twin.pk).update(customer=twin)  # an approved loan: the twin has an archive folder too
    Folder.objects.filter(loan_files__loan=flow_twin).update(customer=twin)
    assert Folder.objects.filter(customer__in=[kept, twin]).count() == 2

    # A borrower registered twice, once as her own loan's guarantor; and a stranger who is no twin at all.
    borrower = CustomerFactory(officer=staff.mkt, id_number=OTHER_ID)
    stranger = CustomerFactory(officer=staff.mkt)
    with pytest.raises(CommandError, match="different ID numbers"):
        merge("file", str(borrower.pk), str(stranger.pk), "--by", "gen", "--reason", "误以为同一人")
    herself = CustomerFactory(officer=staff.mkt, id_number=OTHER_PLACEHOLDER)
    Guarantor.objects.create(loan=LoanFactory(customer=borrower, product=product, marketing_officer=staff.mkt),
                             customer=herself, relationship="relative")

    # Before rule 25 the same people were registered again with full-width (or lower-case) digits.
    before_rule_25({twin: ID.translate(FULL_WIDTH), herself: OTHER_ID.translate(FULL_WIDTH).lower()})

    # Merging the borrower with her own guarantor would make her guarantee herself: refused, resolved another way
    # (her number is corrected instead and the filed merge rejected).
    merge("file", str(borrower.pk), str(herself.pk), "--by", "gen", "--reason", "同一人")
    refused = CustomerMerge.objects.get()
    with pytest.raises(CommandError, match="rule 10"):
        merge("approve", str(refused.pk), "--by", "boss")
    assert Customer.objects.filter(pk=herself.pk).exists()
    refused.refresh_from_db()
    assert refused.status == "pending"
    merge("reject", str(refused.pk), "--by", "boss", "--reason", "另行更正")
    refused.refresh_from_db()
    assert refused.status == "rejected"
    with connection.cursor() as cursor:
        cursor.execute("UPDATE applications_customer SET id_number = %s WHERE id = %s", [OTHER_PLACEHOLDER, herself.pk])

    with pytest.raises(Exception, match="same once normalised") as stopped:
        call_command("migrate", verbosity=0)
    assert f"customer {kept.pk}" in str(stopped.value) and f"customer {twin.pk}" in str(stopped.value)
    assert f"customer {herself.pk}" not in str(stopped.value)
    assert "merge_customers" in str(stopped.value)

    listing = merge("list")
    assert f"customer {kept.pk}" in listing and f"customer {twin.pk}" in listing and "1 group(s)" in listing

    filed = merge("file", str(kept.pk), str(twin.pk), "--by", "boss", "--reason", "同一身份证号,全角录入")
    request = CustomerMerge.objects.get(status="pending")
    assert f"Filed merge {request.pk}" in filed
    with pytest.raises(CommandError, match="You filed this merge; someone else must decide it"):
        merge("approve", str(request.pk), "--by", "boss")  # four eyes: not the one who filed it
    with pytest.raises(CommandError, match="Center manager"):
        merge("approve", str(request.pk), "--by", "gen")  # general files, only a manager approves
    assert RefusedAttempt.objects.filter(action="customer_merge_approve").count() == 3  # with rule 10's above
    assert Customer.objects.filter(pk=twin.pk).exists()

    staff_create(username="boss2", posts=["manager"], full_name="second manager")
    approved = merge("approve", str(request.pk), "--by", "boss2")
    assert f"Merged customer {twin.pk} into {kept.pk}" in approved

    call_command("migrate", verbosity=0)  # now it runs through

    assert not Customer.objects.filter(pk=twin.pk).exists()
    assert Customer.objects.filter(pk=herself.pk).exists() and Guarantor.objects.filter(customer=herself).exists()
    kept.refresh_from_db()
    assert kept.id_number == ID and kept.on_warning_list  # the stricter flag wins
    assert set(Loan.objects.filter(customer=kept).values_list("pk", flat=True)) == {kept_loan.pk, twin_loan.pk,
                                                                                   flow_twin.pk}
    assert Guarantor.objects.get(loan=guaranteed).customer_id == kept.pk
    folder = Folder.objects.get(customer=kept)
    assert set(LoanFile.objects.filter(folder=folder).values_list("loan_id", flat=True)) == {kept_loan.pk, flow_twin.pk}
    request.refresh_from_db()
    assert request.status == "approved" and request.decided_by.username == "boss2" and request.filed_by == staff.boss
    assert request.merged_values["id_number"] == ID.translate(FULL_WIDTH)
    entry = AuditEntry.objects.get(action="customer_merge", loan__isnull=True)
    assert entry.actor.username == "boss2" and entry.payload["merged"] == twin.pk and entry.payload["kept_after"]["on_warning_list"]
    assert AuditEntry.objects.filter(action="customer_merge", loan=twin_loan).exists()
    assert AuditEntry.objects.filter(action="customer_merge_file", actor=staff.boss).exists()
