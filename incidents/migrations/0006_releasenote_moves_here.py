"""The release-note model moves from programme to incidents; no data moves.

The analyst dashboard and the API read published notes, so the model now lives with the
releases it annotates; the programme tools keep the pages that write and publish them.
The table (``programme_releasenote``) keeps its name: only Django's idea of which app
owns the model changes (``SeparateDatabaseAndState``; programme 0002 drops it from
programme's state). The content type is relabelled so permissions and admin history
follow the model.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MODEL = "releasenote"


def _relabel(apps, schema_editor, old, new):
    content_type = apps.get_model("contenttypes", "ContentType")
    if not content_type.objects.filter(app_label=new, model=MODEL).exists():
        content_type.objects.filter(app_label=old, model=MODEL).update(app_label=new)


def forwards(apps, schema_editor):
    _relabel(apps, schema_editor, "programme", "incidents")


def backwards(apps, schema_editor):
    _relabel(apps, schema_editor, "incidents", "programme")


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0005_incident_geocode_pending_index"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        # The table is created there; from here on incidents owns the model.
        ("programme", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="ReleaseNote",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("body", models.TextField(blank=True)),
                        ("facts", models.JSONField(blank=True, default=dict)),
                        (
                            "status",
                            models.CharField(
                                choices=[("draft", "Draft"), ("published", "Published")],
                                default="draft",
                                max_length=20,
                            ),
                        ),
                        ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("published_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "author",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "release",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="release_note",
                                to="incidents.release",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "programme_releasenote",
                        "ordering": ["-release__number"],
                    },
                ),
            ],
        ),
        migrations.RunPython(forwards, backwards, elidable=True),
    ]
