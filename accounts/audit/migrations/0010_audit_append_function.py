"""``audit_append``: extend the audit chain in one statement, inside the database.

Every data page and API call writes an event, and appends are serialised by the chain
lock. When the application took the lock, read the head, hashed in Python and inserted,
the lock was held across four round trips and every wait of the worker for its CPU in
between, so under load every request queued on the slowest one. Here the lock, the head
read, the id, the hash and the insert run in the server, back to back; called outside a
transaction the statement commits at once and the lock is held for microseconds.

The application still builds the canonical payload (``accounts.audit.services``): it
sends it in three parts around the two values only known under the lock, the id and the
timestamp, and the function joins them exactly as ``chain_hash`` does (UTF-8 SHA-256 of
``prev_hash|payload``; the payload is ASCII), so ``verify_audit`` recomputes the same
hash in Python. Each statement of a volatile PL/pgSQL function reads a fresh snapshot,
so the head is read after the lock is granted and sees the previous append's commit.

The timestamp is the caller's (tests travel in time); a writer that waited more than a
second for the lock is stamped with the moment it got it instead, so lock waits never
make the chain's times go back by more than a second (``verify_audit`` tolerates five).
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION audit_append(
    p_lock_key bigint,
    p_occurred_at timestamptz,
    p_actor_id bigint,
    p_actor_email varchar,
    p_organisation_id bigint,
    p_action varchar,
    p_object_type varchar,
    p_object_id varchar,
    p_details jsonb,
    p_request_id varchar,
    p_ip_address inet,
    p_user_agent varchar,
    p_payload_before_id text,
    p_payload_before_time text,
    p_payload_rest text
) RETURNS TABLE (event_id bigint, event_occurred_at timestamptz, event_prev_hash varchar,
                 event_hash varchar)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    asked timestamptz := clock_timestamp();
    v_id bigint;
    v_at timestamptz := p_occurred_at;
    v_prev varchar;
    v_hash varchar;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock_key);
    IF clock_timestamp() - asked > interval '1 second' THEN
        v_at := p_occurred_at + (clock_timestamp() - asked);
    END IF;
    SELECT a.hash INTO v_prev FROM audit_auditevent a ORDER BY a.id DESC LIMIT 1;
    v_prev := coalesce(v_prev, repeat('0', 64));
    v_id := nextval(pg_get_serial_sequence('audit_auditevent', 'id'));
    v_hash := encode(sha256(convert_to(
        v_prev || '|' || p_payload_before_id || v_id::text || p_payload_before_time
        || to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
        || p_payload_rest,
        'UTF8')), 'hex');
    INSERT INTO audit_auditevent (id, occurred_at, actor_id, actor_email, organisation_id,
        action, object_type, object_id, details, request_id, ip_address, user_agent,
        prev_hash, hash)
    VALUES (v_id, v_at, p_actor_id, p_actor_email, p_organisation_id, p_action,
        p_object_type, p_object_id, p_details, p_request_id, p_ip_address, p_user_agent,
        v_prev, v_hash);
    RETURN QUERY SELECT v_id, v_at, v_prev, v_hash;
END;
$$;
"""

BACKWARD = r"""
DROP FUNCTION IF EXISTS audit_append(bigint, timestamptz, bigint, varchar, bigint, varchar,
    varchar, varchar, jsonb, varchar, inet, varchar, text, text, text);
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0009_alert_actions")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
