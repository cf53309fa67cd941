"""Writes for hospital submissions, one module per step: ``receive``, ``process``, ``load``,
``publish`` (and releases), ``mapping`` and ``housekeeping`` (sweeping, reminders).

The flow (docs/pipeline.md covers the database-free part)::

    submission_receive ──on commit──► tasks.process_submission ──► submission_process
      intake checks, private storage,      (thin, acks late)          lock per site+month,
      SHA-256, duplicate check, version                               pipeline, geocode,
                                                                      COPY in one transaction

Every state change writes its audit event in the same transaction. Nothing here holds
an upload twice in memory: it is streamed to private storage while being hashed.
"""

from ingest.services.common import UploadRefused
from ingest.services.housekeeping import overdue_reminders_send, overdue_sites, submissions_sweep
from ingest.services.mapping import submission_confirm_mapping
from ingest.services.process import submission_process, summary
from ingest.services.publish import release_create, submission_publish
from ingest.services.receive import submission_enqueue, submission_receive

__all__ = [
    "UploadRefused",
    "overdue_reminders_send",
    "overdue_sites",
    "release_create",
    "submission_confirm_mapping",
    "submission_enqueue",
    "submission_process",
    "submission_publish",
    "submission_receive",
    "submissions_sweep",
    "summary",
]
