"""``manage.py load_gazetteer [--dir PATH] [--force]``: load the gazetteer files in PATH.

PATH defaults to the ``GAZETTEER_DIR`` setting, which defaults to the London gazetteer
shipped in ``data/gazetteer``. A folder whose version is already loaded is skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.timezone import localtime

from incidents.geocoding.loaders import GazetteerFolderError, gazetteer_load_if_changed
from incidents.geocoding.service import reset_geocoder


class Command(BaseCommand):
    help = (
        "Load postcode, boundary, station, place and street files into the gazetteer; "
        "skip a folder whose version is already loaded (unless --force)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dir",
            dest="directory",
            default=None,
            help="Directory of gazetteer files (default: the GAZETTEER_DIR setting, "
            "itself defaulting to the shipped data/gazetteer).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load even when this version of the folder is already loaded.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        raw = options["directory"] or settings.GAZETTEER_DIR
        if not raw:
            raise CommandError("Give --dir or set GAZETTEER_DIR.")
        directory = Path(raw)
        if not directory.is_dir():
            raise CommandError(f"Not a directory: {directory}")
        try:
            outcome = gazetteer_load_if_changed(directory=directory, force=options["force"])
        except GazetteerFolderError as exc:
            raise CommandError(str(exc)) from exc
        version, report = outcome.version, outcome.report
        stamp = f"{version.label} ({version.digest[:12]})"
        if report is None:
            previous = outcome.previous
            since = f" since {localtime(previous.loaded_at):%Y-%m-%d %H:%M}" if previous else ""
            self.stdout.write(
                f"Gazetteer {stamp} is already loaded{since}; skipped (--force loads it again)."
            )
            return
        reset_geocoder()
        for kind, n in sorted(report.counts.items()):
            self.stdout.write(f"{kind:16} {n:>9,}")
        for name, seconds in report.file_seconds.items():
            self.stdout.write(f"  {seconds:6.1f} s  {name}")
        for name in report.skipped:
            self.stdout.write(f"skipped (not a recognised layout): {name}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded gazetteer {stamp}: {len(report.files)} files in {report.seconds:.1f} s"
            )
        )
