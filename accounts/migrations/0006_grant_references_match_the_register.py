"""Access grants name their agreement as the register spells it.

Grants were once written with a free-text agreement reference. From now on every grant
written names an agreement in the register (``accounts.services``); this migration
brings the existing ones into line: a reference that matches a registered agreement once
case and whitespace are ignored is rewritten to the register's spelling, so that the
agreement's state governs the grant (``accounts.access``) and ending the agreement ends
it. References that match nothing are left as they are; the grant pages list those
grants for the administrators to fix (``accounts.selectors.grants_without_agreement``).
"""

from django.db import migrations


def _key(reference):
    # The same comparison as accounts.agreements.reference_key, frozen here.
    return "".join((reference or "").split()).casefold()


def forwards(apps, schema_editor):
    agreement_model = apps.get_model("accounts", "DataSharingAgreement")
    grant_model = apps.get_model("accounts", "AccessGrant")
    registered = {}
    for reference in agreement_model.objects.values_list("reference", flat=True):
        registered.setdefault(_key(reference), reference)
    exact = set(agreement_model.objects.values_list("reference", flat=True))
    for grant in grant_model.objects.exclude(agreement_reference__in=exact).only(
        "pk", "agreement_reference"
    ):
        match = registered.get(_key(grant.agreement_reference))
        if match is not None:
            grant_model.objects.filter(pk=grant.pk).update(agreement_reference=match)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_datasharingagreement_moves_here"),
    ]

    # Only spellings change; going back leaves the register's spelling in place.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
