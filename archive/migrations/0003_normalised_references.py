# Rule 25: contract and certificate numbers were rewritten in their normal form (disbursement 0003, applications 0012);
# the checklist items that carry them follow, so that the next checklist sync finds them instead of adding twins.

from django.db import migrations

from loancenter.lib.identifiers import CERTIFICATE_NO, CONTRACT_NO, normalise

_CONTRACT_PREFIXES = ("loan_contract:", "guarantee_contract:", "mortgage_contract:")


def forwards(apps, schema_editor):
    Item = apps.get_model("archive", "ChecklistItem")
    Collateral = apps.get_model("applications", "Collateral")
    changed = []
    for item in Item.objects.only("pk", "code", "reference").order_by("pk").iterator(chunk_size=2000):
        code, reference = item.code, item.reference
        prefix = next((p for p in _CONTRACT_PREFIXES if code.startswith(p)), None)
        if prefix is not None:
            code = prefix + normalise(code[len(prefix):], CONTRACT_NO)
            reference = normalise(reference, CONTRACT_NO)
        elif code == "certificate":
            reference = normalise(reference, CERTIFICATE_NO)
        elif code.startswith("pledge:") and code[len("pledge:"):].isdigit():
            # The pledge's certificate number, or its description when it has none (left as it is).
            certificate = Collateral.objects.filter(pk=int(code[len("pledge:"):])).values_list("certificate_no", flat=True).first()
            if certificate and normalise(reference, CERTIFICATE_NO) == certificate:
                reference = certificate
        if (code, reference) != (item.code, item.reference):
            item.code, item.reference = code, reference
            changed.append(item)
    Item.objects.bulk_update(changed, ["code", "reference"], batch_size=2000)


class Migration(migrations.Migration):

    dependencies = [
        ("archive", "0002_retention_defaults"),
        ("disbursement", "0003_normalise_identifiers"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
