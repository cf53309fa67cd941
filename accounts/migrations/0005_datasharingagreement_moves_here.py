"""The data-sharing agreement model moves from programme to accounts; no data moves.

Whether an agreement is in force decides access (``accounts.access``), so the model now
lives in accounts, the lowest layer; the programme tools keep the register pages. The
table (``programme_datasharingagreement``), its two many-to-many tables, index and
constraint keep their names: only Django's idea of which app owns the model changes
(``SeparateDatabaseAndState``; programme 0002 drops it from programme's state). The
content type is relabelled so permissions and admin history follow the model.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MODEL = "datasharingagreement"


def _relabel(apps, schema_editor, old, new):
    content_type = apps.get_model("contenttypes", "ContentType")
    if not content_type.objects.filter(app_label=new, model=MODEL).exists():
        content_type.objects.filter(app_label=old, model=MODEL).update(app_label=new)


def forwards(apps, schema_editor):
    _relabel(apps, schema_editor, "programme", "accounts")


def backwards(apps, schema_editor):
    _relabel(apps, schema_editor, "accounts", "programme")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_database_cache_table"),
        ("contenttypes", "0002_remove_content_type_name"),
        # The table is created there; from here on accounts owns the model.
        ("programme", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="DataSharingAgreement",
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
                        ("reference", models.CharField(max_length=100, unique=True)),
                        ("title", models.CharField(max_length=200)),
                        ("legal_basis", models.CharField(max_length=300)),
                        ("purpose", models.TextField()),
                        ("signed_on", models.DateField(blank=True, null=True)),
                        ("review_on", models.DateField(blank=True, null=True)),
                        ("ends_on", models.DateField()),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("draft", "Draft"),
                                    ("active", "Active"),
                                    ("suspended", "Suspended"),
                                    ("ended", "Ended"),
                                ],
                                default="draft",
                                max_length=20,
                            ),
                        ),
                        ("status_reason", models.TextField(blank=True)),
                        ("document_name", models.CharField(blank=True, max_length=64)),
                        ("document_original_name", models.CharField(blank=True, max_length=255)),
                        ("document_sha256", models.CharField(blank=True, max_length=64)),
                        ("review_reminder_for", models.DateField(blank=True, null=True)),
                        ("end_reminder_for", models.DateField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "providers",
                            models.ManyToManyField(
                                blank=True,
                                help_text="Hospital trusts that supply data under this agreement.",
                                related_name="agreements_as_provider",
                                to="accounts.organisation",
                            ),
                        ),
                        (
                            "recipients",
                            models.ManyToManyField(
                                blank=True,
                                help_text="Organisations that receive data under this agreement.",
                                related_name="agreements_as_recipient",
                                to="accounts.organisation",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "programme_datasharingagreement",
                        "ordering": ["reference"],
                        "indexes": [
                            models.Index(
                                fields=["status", "ends_on"], name="programme_d_status_6cb68d_idx"
                            )
                        ],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("signed_on__isnull", True),
                                    ("ends_on__gte", models.F("signed_on")),
                                    _connector="OR",
                                ),
                                name="agreement_ends_after_signing",
                            )
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(forwards, backwards, elidable=True),
    ]
