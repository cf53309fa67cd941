"""Incident rollups (``IncidentCount``, ``IncidentMonthCount``): tables, the triggers that
keep them equal to the incident rows, and their first fill.

Statement-level triggers with transition tables: an INSERT (the loader's COPY), UPDATE
(a geocode completed, a row sent back to geocoding, a reviewer's decision) or DELETE of
incident rows adds the new rows' counts and key sums to their cells and takes the old
rows' away, in the same statement's transaction, so the rollups cannot disagree with the
rows whatever code changes them. Cells whose count reaches 0 are deleted. TRUNCATE of
the incident table empties both rollups.
"""

import django.db.models.deletion
from django.db import migrations, models


# (table, grouping columns) of each rollup; the same lists as ``incidents.rollup.ROLLUPS``,
# copied so this migration never changes when that module does.
ROLLUPS = (
    (
        "incidents_incidentcount",
        (
            "submission_id",
            "borough_code",
            "assault_month",
            "site_id",
            "method_code",
            "location_type_code",
            "geo_class",
            "geocode_status",
        ),
    ),
    (
        "incidents_incidentmonthcount",
        (
            "submission_id",
            "borough_code",
            "assault_month",
            "site_id",
            "geo_class",
            "geocode_status",
        ),
    ),
)


def _apply(table: str, columns: tuple[str, ...], delta: str) -> str:
    """Add ``delta`` (rows of the grouping columns with n and k) to the table's cells."""
    cols = ", ".join(columns)
    return f"""
    INSERT INTO {table} AS c ({cols}, incident_count, record_key_sum)
    SELECT {cols}, sum(n), sum(k) FROM ({delta}) AS d
    GROUP BY {cols} HAVING sum(n) <> 0 OR sum(k) <> 0
    ORDER BY {cols}
    ON CONFLICT ({cols}) DO UPDATE SET
        incident_count = c.incident_count + EXCLUDED.incident_count,
        record_key_sum = c.record_key_sum + EXCLUDED.record_key_sum;"""


def _prune(table: str) -> str:
    return f"""
    DELETE FROM {table} AS c WHERE c.incident_count = 0
      AND c.submission_id IN (SELECT DISTINCT submission_id FROM old_rows);"""


def _function(operation: str) -> str:
    cols = ", ".join(ROLLUPS[0][1])
    plus = f"SELECT {cols}, 1 AS n, record_key::bigint AS k FROM new_rows"
    minus = f"SELECT {cols}, -1 AS n, -record_key::bigint AS k FROM old_rows"
    delta = {"insert": plus, "update": f"{plus} UNION ALL {minus}", "delete": minus}[operation]
    body = "".join(
        _apply(table, columns, delta) + (_prune(table) if operation != "insert" else "")
        for table, columns in ROLLUPS
    )
    return f"""
CREATE FUNCTION incidents_rollup_{operation}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{body}
    RETURN NULL;
END $$;"""


TRIGGERS = {
    "insert": "AFTER INSERT ON incidents_incident REFERENCING NEW TABLE AS new_rows",
    "update": (
        "AFTER UPDATE ON incidents_incident REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    ),
    "delete": "AFTER DELETE ON incidents_incident REFERENCING OLD TABLE AS old_rows",
}

CREATE_SQL = (
    "".join(
        f"""{_function(op)}
CREATE TRIGGER incidents_rollup_{op} {when}
    FOR EACH STATEMENT EXECUTE FUNCTION incidents_rollup_{op}();
"""
        for op, when in TRIGGERS.items()
    )
    + """
CREATE FUNCTION incidents_rollup_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- DELETE, not TRUNCATE: a TRUNCATE of several tables at once (the test runner's
    -- flush) may name the rollups too, and a table cannot be truncated twice in one go.
    DELETE FROM incidents_incidentcount;
    DELETE FROM incidents_incidentmonthcount;
    RETURN NULL;
END $$;
CREATE TRIGGER incidents_rollup_truncate AFTER TRUNCATE ON incidents_incident
    FOR EACH STATEMENT EXECUTE FUNCTION incidents_rollup_truncate();
"""
)

DROP_SQL = "".join(
    f"DROP TRIGGER IF EXISTS incidents_rollup_{op} ON incidents_incident;\n"
    f"DROP FUNCTION IF EXISTS incidents_rollup_{op}();\n"
    for op in (*TRIGGERS, "truncate")
)

# The first fill: every stored row, whatever its submission's status (as the triggers
# keep them from now on).
FILL_SQL = "".join(
    f"""
INSERT INTO {table} ({", ".join(columns)}, incident_count, record_key_sum)
SELECT {", ".join(columns)}, count(*), sum(record_key) FROM incidents_incident
GROUP BY {", ".join(columns)};"""
    for table, columns in ROLLUPS
)
EMPTY_SQL = "DELETE FROM incidents_incidentcount; DELETE FROM incidents_incidentmonthcount;"


class Migration(migrations.Migration):
    dependencies = [
        ("hospitals", "0005_dry_runs_take_no_version"),
        ("incidents", "0010_incident_place_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="IncidentCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("borough_code", models.CharField(max_length=9)),
                ("assault_month", models.DateField()),
                ("geo_class", models.CharField(max_length=30)),
                ("geocode_status", models.CharField(max_length=10)),
                ("incident_count", models.IntegerField()),
                ("record_key_sum", models.BigIntegerField()),
                ("method_code", models.CharField(max_length=40)),
                ("location_type_code", models.CharField(max_length=40)),
                (
                    "site",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="hospitals.hospitalsite",
                    ),
                ),
                (
                    "submission",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="hospitals.submission",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "submission",
                            "borough_code",
                            "assault_month",
                            "site",
                            "method_code",
                            "location_type_code",
                            "geo_class",
                            "geocode_status",
                        ),
                        name="unique_incident_count_cell",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="IncidentMonthCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("borough_code", models.CharField(max_length=9)),
                ("assault_month", models.DateField()),
                ("geo_class", models.CharField(max_length=30)),
                ("geocode_status", models.CharField(max_length=10)),
                ("incident_count", models.IntegerField()),
                ("record_key_sum", models.BigIntegerField()),
                (
                    "site",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="hospitals.hospitalsite",
                    ),
                ),
                (
                    "submission",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="hospitals.submission",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "submission",
                            "borough_code",
                            "assault_month",
                            "site",
                            "geo_class",
                            "geocode_status",
                        ),
                        name="unique_incident_month_count_cell",
                    )
                ],
            },
        ),
        migrations.RunSQL(CREATE_SQL, DROP_SQL),
        migrations.RunSQL(FILL_SQL, EMPTY_SQL),
    ]
