"""Apply the current free-text guard to every stored incident (``manage.py
rescan_personal_data``).

Incidents loaded before the guard learnt a rule keep what it would now remove. The
rescan reads every stored row's free text (location description and the method "other"
text) in id order, in batches, and redacts it in place with
:func:`ingest.pipeline.pii.redact`, exactly as an upload would today:

* Each batch is one short transaction; its rows are locked while they are rewritten, so a
  concurrent geocode retry or review decision waits rather than being overwritten. A run
  stopped half-way leaves every batch it finished redacted (and writes no audit event);
  the next run does the rest (it is idempotent: rows already clean are left alone).
* A changed row gets the ``W005_PERSONAL_DATA_REDACTED`` warning and a ``…:redacted``
  rule, as a row redacted at upload does.
* A row whose description lost a home address goes back to geocode ``pending`` with no
  point: it may have been placed at the patient's home before the guard knew the form.
  The pending-geocode retry then geocodes it again from the redacted text (at the end of
  the run, and every 15 minutes from the beat schedule).
* One ``data.personal_data_rescanned`` audit event per real run, with counts only (rows
  scanned, rows changed, rows by kind, rows sent back to geocoding): never the values.
* ``dry_run`` reads and counts, and writes nothing (not even the audit event).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import transaction

from accounts.audit.models import Action
from accounts.audit.services import audit_record
from incidents.workspace.cache import incident_rows_changed
from ingest import loader
from ingest.pipeline.pii import redact
from ingest.pipeline.types import Field
from ingest.pipeline.validation import RowCode

BATCH_ROWS = 2000
_FIELDS = (Field.LOCATION_DESCRIPTION, Field.METHOD_OTHER)


@dataclass(slots=True)
class RescanOutcome:
    """Counts only: how many rows were read and changed, and the kinds found (a row
    counts once per kind)."""

    dry_run: bool
    rows_scanned: int = 0
    rows_changed: int = 0
    rows_by_kind: dict[str, int] = field(default_factory=dict)
    rows_requeued_for_geocoding: int = 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rows_by_kind"] = dict(sorted(self.rows_by_kind.items()))
        return out


def _redacted_row(row: loader.FreeTextRow) -> tuple[loader.FreeTextRow, list[str]] | None:
    """The row with its free text redacted and its lineage noted, and the kinds found per
    field (``"location_description:address"``); None when nothing changes."""
    pk, description, other, rules, warnings = row
    texts = {Field.LOCATION_DESCRIPTION: description, Field.METHOD_OTHER: other}
    found: list[str] = []
    new_rules = list(rules or [])
    for f in _FIELDS:
        out, kinds = redact(texts[f])
        if not kinds:
            continue
        texts[f] = out
        found.extend(f"{f.value}:{k}" for k in kinds)
        if f"{f.value}:redacted" not in new_rules:
            new_rules.append(f"{f.value}:redacted")
    if not found:
        return None
    new_warnings = list(warnings or [])
    if RowCode.TEXT_REDACTED.value not in new_warnings:
        new_warnings.append(RowCode.TEXT_REDACTED.value)
    return (
        pk,
        texts[Field.LOCATION_DESCRIPTION],
        texts[Field.METHOD_OTHER],
        new_rules,
        new_warnings,
    ), found


def personal_data_rescan(*, dry_run: bool = False, batch_rows: int = BATCH_ROWS) -> RescanOutcome:
    """Redact personal data in every stored incident's free text. See the module doc."""
    outcome = RescanOutcome(dry_run=dry_run)
    by_kind: Counter[str] = Counter()
    last_id = 0
    while True:
        with transaction.atomic():
            batch = loader.incidents_free_text_batch(last_id, batch_rows)
            if not batch:
                break
            last_id = batch[-1][0]
            changed: list[loader.FreeTextRow] = []
            requeue: list[int] = []
            for row in batch:
                result = _redacted_row(row)
                if result is None:
                    continue
                new_row, found = result
                changed.append(new_row)
                by_kind.update({k.split(":", 1)[1] for k in found})
                if f"{Field.LOCATION_DESCRIPTION.value}:address" in found:
                    requeue.append(new_row[0])
            outcome.rows_scanned += len(batch)
            outcome.rows_changed += len(changed)
            outcome.rows_requeued_for_geocoding += len(requeue)
            if changed and not dry_run:
                loader.incidents_free_text_rewrite(changed)
                if requeue:
                    loader.incidents_geocode_requeue(requeue)
                transaction.on_commit(incident_rows_changed)
    outcome.rows_by_kind = dict(by_kind)
    if not dry_run:
        with transaction.atomic():
            # Counts only: the values are what this command exists to remove.
            audit_record(
                action=Action.PERSONAL_DATA_RESCANNED, actor=None, details=outcome.as_dict()
            )
    return outcome
