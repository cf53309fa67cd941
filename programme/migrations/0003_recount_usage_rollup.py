"""Forget the stored monthly usage figures so that the nightly job computes them again.

Months stored before this migration counted each download twice (its "started" and its
"completed" audit events). The rollup is a cache derived from the audit log, so it is
emptied rather than corrected; until the nightly job runs, the dashboard computes every
month live from the audit log.
"""

from django.db import migrations


def forget_rollup(apps, schema_editor):
    apps.get_model("programme", "UsageMonth").objects.all().delete()
    apps.get_model("programme", "UsageMonthComputed").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("programme", "0002_agreements_and_release_notes_move_down")]

    operations = [migrations.RunPython(forget_rollup, migrations.RunPython.noop)]
