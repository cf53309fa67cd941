"""``manage.py rescan_personal_data [--dry-run]``: apply the current free-text guard to
every stored incident's free text, redacting in place; print the counts as JSON.

Run it once after upgrading a deployment whose stored rows predate the guard's current
rules (docs/operations.md). See :mod:`ingest.pii_rescan` for what it does.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ingest.pii_rescan import BATCH_ROWS, personal_data_rescan


class Command(BaseCommand):
    help = (
        "Redact personal data in every stored incident's free text with the current guard "
        "(counts only are printed and audited)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would change; write nothing."
        )
        parser.add_argument("--batch-rows", type=int, default=BATCH_ROWS, help="Rows a batch.")

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = personal_data_rescan(
            dry_run=options["dry_run"], batch_rows=max(1, options["batch_rows"])
        )
        if outcome.rows_requeued_for_geocoding and not outcome.dry_run:
            # Geocode the rows whose home address went, now rather than at the next beat.
            from ingest.geocode_retry import pending_geocodes_retry

            retried = pending_geocodes_retry()
            self.stderr.write(f"pending geocodes: {retried.status}")
        self.stdout.write(json.dumps(outcome.as_dict(), indent=2))
