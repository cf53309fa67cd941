"""A version number for the reference data (``HarmonisedCode``, ``ValueSynonym``), so a
worker can keep both tables in memory and check them with one small query per file.

Statement-level triggers on both tables set the version to the next value of a sequence
whenever rows are inserted, updated, deleted or truncated, in the transaction that makes
the change: a reader sees the new version exactly when it sees the new rows. A sequence
never gives a number twice (not even after a rollback), so a version names one state of
the tables only.
"""

from django.db import migrations

CREATE_SQL = """
CREATE SEQUENCE incidents_reference_version_seq;
CREATE TABLE incidents_referenceversion (
    id smallint PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO incidents_referenceversion (id, version)
    VALUES (1, nextval('incidents_reference_version_seq'));
CREATE FUNCTION incidents_reference_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE incidents_referenceversion
        SET version = nextval('incidents_reference_version_seq') WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER incidents_harmonisedcode_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON incidents_harmonisedcode
    FOR EACH STATEMENT EXECUTE FUNCTION incidents_reference_version_bump();
CREATE TRIGGER incidents_valuesynonym_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON incidents_valuesynonym
    FOR EACH STATEMENT EXECUTE FUNCTION incidents_reference_version_bump();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS incidents_harmonisedcode_version ON incidents_harmonisedcode;
DROP TRIGGER IF EXISTS incidents_valuesynonym_version ON incidents_valuesynonym;
DROP FUNCTION IF EXISTS incidents_reference_version_bump();
DROP TABLE IF EXISTS incidents_referenceversion;
DROP SEQUENCE IF EXISTS incidents_reference_version_seq;
"""


class Migration(migrations.Migration):
    dependencies = [("incidents", "0011_incident_rollup")]

    operations = [migrations.RunSQL(CREATE_SQL, DROP_SQL)]
