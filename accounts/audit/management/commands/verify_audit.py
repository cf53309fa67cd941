"""``manage.py verify_audit``: prove the audit log intact, or name the first bad event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.audit.verify import DEFAULT_CHUNK_SIZE, DEFAULT_CLOCK_TOLERANCE, verify_chain


class Command(BaseCommand):
    help = (
        "Walk the audit chain in id order, recompute every hash and check every link. "
        "Exits 0 if intact, 1 naming the first bad event otherwise."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="Rows read per query."
        )
        parser.add_argument(
            "--clock-tolerance",
            type=float,
            default=DEFAULT_CLOCK_TOLERANCE.total_seconds(),
            help="Seconds occurred_at may go backwards between consecutive events.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk_size"] < 1 or options["clock_tolerance"] < 0:
            raise CommandError("--chunk-size must be positive and --clock-tolerance >= 0.")
        report = verify_chain(
            chunk_size=options["chunk_size"],
            clock_tolerance=timedelta(seconds=options["clock_tolerance"]),
        )
        if report.problem is not None:
            raise CommandError(
                f"Audit chain broken at event {report.problem.event_id}: "
                f"{report.problem.reason}. {report.verified} events before it verified.",
                returncode=1,
            )
        self.stdout.write(f"{report.verified} events verified. Head hash {report.head_hash}")
