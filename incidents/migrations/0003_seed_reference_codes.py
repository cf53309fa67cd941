"""Seed the harmonised codes and value synonyms from incidents/codes.py."""

from django.db import migrations


def seed(apps, schema_editor):
    from incidents.reference import reference_codes_seed

    reference_codes_seed(
        code_model=apps.get_model("incidents", "HarmonisedCode"),
        synonym_model=apps.get_model("incidents", "ValueSynonym"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0002_saved_query"),
    ]

    operations = [
        # Reversing leaves the rows: data managers may have edited them since.
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
