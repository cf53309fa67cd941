"""The parts of each incident's record-level CSV line, kept beside the row
(``incidents.csv_lines``): plain columns, not model fields, so no ORM query reads them.

``export_digest`` names what the parts were made from besides the row (labels, gazetteer,
zone, line format). A row trigger clears it whenever a column the line is made from
changes, so a part is never taken for current after its row changed; a partial index
finds those rows (and new ones) for the refresh.
"""

from django.db import migrations

# The incident columns a CSV line is made from (frozen here, as a migration must be).
SOURCE_COLUMNS = (
    "site_id",
    "assault_at",
    "assault_date",
    "assault_time_known",
    "arrival_at",
    "borough_code",
    "ward_code",
    "lsoa_code",
    "lat",
    "lon",
    "easting",
    "northing",
    "geo_precision",
    "geo_class",
    "method_code",
    "location_type_code",
    "location_description",
)
CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in SOURCE_COLUMNS)

CREATE_SQL = f"""
ALTER TABLE incidents_incident
    ADD COLUMN export_head text,
    ADD COLUMN export_exact text,
    ADD COLUMN export_snapped text,
    ADD COLUMN export_lsoa text,
    ADD COLUMN export_tail text,
    ADD COLUMN export_free_text text,
    ADD COLUMN export_digest bigint;
CREATE INDEX incident_export_stale ON incidents_incident (id) WHERE export_digest IS NULL;
CREATE FUNCTION incidents_export_parts_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.export_digest := NULL;
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_incident_export_parts_stale
    BEFORE UPDATE ON incidents_incident
    FOR EACH ROW WHEN ({CHANGED})
    EXECUTE FUNCTION incidents_export_parts_stale();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS incidents_incident_export_parts_stale ON incidents_incident;
DROP FUNCTION IF EXISTS incidents_export_parts_stale();
DROP INDEX IF EXISTS incident_export_stale;
ALTER TABLE incidents_incident
    DROP COLUMN IF EXISTS export_head,
    DROP COLUMN IF EXISTS export_exact,
    DROP COLUMN IF EXISTS export_snapped,
    DROP COLUMN IF EXISTS export_lsoa,
    DROP COLUMN IF EXISTS export_tail,
    DROP COLUMN IF EXISTS export_free_text,
    DROP COLUMN IF EXISTS export_digest;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0013_incident_borough_recent"),
    ]

    operations = [migrations.RunSQL(CREATE_SQL, DROP_SQL)]
