"""Import data.police.uk street-level CSV files: ``manage.py import_police_crime FILE…``.

Keeps violence and robbery counts by London LSOA and month, replacing each force's month
the files hold (``ingest.police_crime``). Prints the counts and the malformed rows (their
numbers and reasons, never their content).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ingest.police_crime import PoliceCrimeFileError, import_police_crime


class Command(BaseCommand):
    help = "Import police-recorded violence and robbery from data.police.uk street-level CSVs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        paths: list[Path] = options["files"]
        for path in paths:
            if not path.is_file():
                raise CommandError(f"No such file: {path.name}")
        with ExitStack() as stack:
            handles = [
                (path.name, stack.enter_context(path.open(encoding="utf-8-sig", newline="")))
                for path in paths
            ]
            try:
                report = import_police_crime(handles)
            except PoliceCrimeFileError as exc:
                raise CommandError(str(exc)) from None
        for key, value in report.summary().items():
            self.stdout.write(f"{key.replace('_', ' ')}: {value}")
        for name, row, reason in report.malformed_rows:
            self.stdout.write(f"malformed: {name} row {row}: {reason}")
