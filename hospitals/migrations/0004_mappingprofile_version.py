"""Mapping profiles get a version number per site (1, 2, … in the order confirmed)."""

from django.db import migrations, models


def number_versions(apps, schema_editor):
    MappingProfile = apps.get_model("hospitals", "MappingProfile")
    last_site, version = None, 0
    for profile in MappingProfile.objects.order_by("site_id", "created_at", "pk").only(
        "pk", "site_id"
    ):
        version = version + 1 if profile.site_id == last_site else 1
        last_site = profile.site_id
        MappingProfile.objects.filter(pk=profile.pk).update(version=version)


class Migration(migrations.Migration):
    dependencies = [
        ("hospitals", "0003_submission_queue_fields"),
    ]

    operations = [
        migrations.AddField(
            model_name="mappingprofile",
            name="version",
            field=models.PositiveIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(number_versions, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="mappingprofile",
            name="version",
            field=models.PositiveIntegerField(
                editable=False,
                help_text="1, 2, … per site, in the order the versions were confirmed.",
            ),
        ),
        migrations.AlterModelOptions(
            name="mappingprofile",
            options={"get_latest_by": "version", "ordering": ["site", "-version"]},
        ),
        migrations.AddConstraint(
            model_name="mappingprofile",
            constraint=models.UniqueConstraint(
                fields=("site", "version"), name="unique_mapping_version"
            ),
        ),
    ]
