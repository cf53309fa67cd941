"""Data-sharing agreements move to accounts and release notes to incidents; no data moves.

Only programme's migration state forgets the two models: their tables stay where they
are and now belong to accounts 0005 and incidents 0006, which this migration follows.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("programme", "0001_initial"),
        ("accounts", "0005_datasharingagreement_moves_here"),
        ("incidents", "0006_releasenote_moves_here"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="DataSharingAgreement"),
                migrations.DeleteModel(name="ReleaseNote"),
            ],
        ),
    ]
