"""Make the audit table append-only at the database level.

UPDATE and DELETE are refused row by row, TRUNCATE per statement, with SQLSTATE 42501
(insufficient_privilege), which Django raises as ``ProgrammingError``. Only someone who
can ``ALTER TABLE ... DISABLE TRIGGER`` (the table owner or a superuser) can get round it;
production runs the application under a role that is neither.

The test runner empties tables with TRUNCATE between transactional tests, so TRUNCATE is
let through only in a database whose name starts with ``test_`` AND whose session has
set ``istv.audit_allow_truncate = on`` (the test settings do). No production database
meets both conditions.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION audit_auditevent_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND current_database() LIKE 'test\_%'
       AND coalesce(current_setting('istv.audit_allow_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit log is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit events can only be inserted, through audit_record().';
END;
$$;

CREATE TRIGGER audit_auditevent_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_auditevent_reject_change();

CREATE TRIGGER audit_auditevent_no_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_auditevent_reject_change();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_auditevent_reject_change();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
