"""``manage.py load_gazetteer --dir PATH``: load every recognised gazetteer file in PATH."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.geocoding.loaders import gazetteer_load
from incidents.geocoding.service import reset_geocoder


class Command(BaseCommand):
    help = "Load postcode, boundary, station, place and street files into the gazetteer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dir",
            dest="directory",
            default=None,
            help="Directory of gazetteer files (default: the GAZETTEER_DIR setting).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        raw = options["directory"] or settings.GAZETTEER_DIR
        if not raw:
            raise CommandError("Give --dir or set GAZETTEER_DIR.")
        directory = Path(raw)
        if not directory.is_dir():
            raise CommandError(f"Not a directory: {directory}")
        report = gazetteer_load(directory=directory)
        reset_geocoder()
        for kind, n in sorted(report.counts.items()):
            self.stdout.write(f"{kind:16} {n:>9,}")
        for name, seconds in report.file_seconds.items():
            self.stdout.write(f"  {seconds:6.1f} s  {name}")
        for name in report.skipped:
            self.stdout.write(f"skipped (not a recognised layout): {name}")
        self.stdout.write(
            self.style.SUCCESS(f"Loaded {len(report.files)} files in {report.seconds:.1f} s")
        )
