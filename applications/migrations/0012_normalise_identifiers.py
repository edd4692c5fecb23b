# Rule 25 / SPEC §16.10: customers' ID numbers and phones and collaterals' certificate numbers are rewritten in their
# normal form (loancenter.lib.identifiers). Where two customers become the same ID number the migration stops and
# lists them: nothing is rewritten, and `python manage.py merge_customers` resolves them (four eyes) before `migrate`
# is run again (README, "Duplicate customers"). Live loans that share a certificate (rule 28) are listed as a warning:
# they are refused at their next step, not here.

import re
import sys

from django.db import migrations

from loancenter.lib.identifiers import CERTIFICATE_NO, ID_NUMBER, PHONE, duplicates, normalise, rewrite_normalised

_VALID_ID = re.compile(r"[0-9]{17}[0-9X]")
_RELEASED = ("settled", "withdrawn", "rejected")


class DuplicateIdentifiers(Exception):
    """The normal forms of two or more rows collide where they must be unique; nothing was rewritten."""


def forwards(apps, schema_editor):
    Customer = apps.get_model("applications", "Customer")
    Collateral = apps.get_model("applications", "Collateral")

    rows = list(Customer.objects.values_list("pk", "id_number").order_by("pk"))
    twins = duplicates(rows, ID_NUMBER)
    invalid = [(pk, value) for pk, value in rows if not _VALID_ID.fullmatch(normalise(value, ID_NUMBER) or "")]
    if twins or invalid:
        lines = ["Customers whose ID numbers are the same once normalised (rule 25, SPEC §16.10):"]
        names = dict(Customer.objects.filter(pk__in=[pk for group in twins.values() for pk, _v in group])
                     .values_list("pk", "name"))
        for number, group in sorted(twins.items()):
            lines.append(f"  {number}: " + ", ".join(f"customer {pk} {names.get(pk, '')} ({value!r})" for pk, value in group))
        for pk, value in invalid:
            lines.append(f"  customer {pk}: {value!r} is not a valid ID number once normalised")
        lines.append("Nothing was changed. Resolve each group with `python manage.py merge_customers` (filed by one "
                     "person, approved by another), then run `python manage.py migrate` again.")
        raise DuplicateIdentifiers("\n".join(lines))

    rewrite_normalised(Customer, [("id_number", ID_NUMBER), ("phone", PHONE)])
    rewrite_normalised(Collateral, [("certificate_no", CERTIFICATE_NO)])

    live = Collateral.objects.exclude(loan__status__in=_RELEASED).values_list("loan_id", "certificate_no")
    shared = duplicates(live, CERTIFICATE_NO)
    shared = {number: group for number, group in shared.items() if len({loan for loan, _v in group}) > 1}
    if shared:
        sys.stdout.write("\n  Warning (rule 28): certificates that back more than one live loan; those loans are "
                         "refused at their next submit, approval or registration:\n")
        for number, group in sorted(shared.items()):
            sys.stdout.write(f"    {number}: loans {', '.join(str(loan) for loan, _v in group)}\n")


class Migration(migrations.Migration):

    dependencies = [
        ("applications", "0011_customer_merge"),
        # merge_customers writes audit rows: the audit table is complete when this migration stops.
        ("loancenter", "0009_audithead"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
