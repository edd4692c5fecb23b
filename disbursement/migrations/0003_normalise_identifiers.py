# Rule 25 / SPEC §16.10: contract numbers and registration-certificate (他项权证) numbers are rewritten in their normal
# form. Where two rows become the same number the migration stops and lists them; nothing is rewritten. Two contracts
# cannot be merged: the one typed wrong is corrected against the paper contract (README, "Duplicate contract numbers").

from django.db import migrations

from loancenter.lib.identifiers import CERTIFICATE_NO, CONTRACT_NO, duplicates, rewrite_normalised


class DuplicateIdentifiers(Exception):
    """The normal forms of two or more rows collide where they must be unique; nothing was rewritten."""


def forwards(apps, schema_editor):
    Contract = apps.get_model("disbursement", "Contract")
    Registration = apps.get_model("disbursement", "CollateralRegistration")

    twins = duplicates(Contract.objects.values_list("loan_id", "contract_no").order_by("pk"), CONTRACT_NO)
    certificates = duplicates(Registration.objects.values_list("loan_id", "certificate_no").order_by("pk"),
                              CERTIFICATE_NO)
    if twins or certificates:
        lines = ["Numbers that are the same once normalised (rule 25, SPEC §16.10):"]
        for number, group in sorted(twins.items()):
            lines.append(f"  contract {number}: " + ", ".join(f"loan {loan} ({value!r})" for loan, value in group))
        for number, group in sorted(certificates.items()):
            lines.append(f"  registration certificate {number}: "
                         + ", ".join(f"loan {loan} ({value!r})" for loan, value in group))
        lines.append("Nothing was changed. Correct the number that was typed wrong against the paper "
                     "(README, \"Duplicate contract numbers\"), then run `python manage.py migrate` again.")
        raise DuplicateIdentifiers("\n".join(lines))

    rewrite_normalised(Contract, [("contract_no", CONTRACT_NO)])
    rewrite_normalised(Registration, [("certificate_no", CERTIFICATE_NO)])


class Migration(migrations.Migration):

    dependencies = [
        ("disbursement", "0002_initial"),
        ("applications", "0012_normalise_identifiers"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
