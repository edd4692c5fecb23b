# Rule 25: staff ID numbers are rewritten in their normal form (the staff-borrower check of SPEC §4 matches them with
# customers'). Not unique: nothing can collide.

from django.db import migrations

from loancenter.lib.identifiers import ID_NUMBER, rewrite_normalised


def forwards(apps, schema_editor):
    rewrite_normalised(apps.get_model("loancenter", "User"), [("id_number", ID_NUMBER)])


class Migration(migrations.Migration):

    dependencies = [
        ("loancenter", "0005_staff_request"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
