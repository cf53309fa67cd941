"""``manage.py geocode "TEXT" ... [--hospital SITE] [--json]`` or ``--file PATH``.

``--file`` reads JSON lines ``{"text": ..., "hospital": ..., "location_type": ...}`` and
writes one JSON object per input line, in order. The gazetteer is built once per call and
distinct phrases are resolved once, so thousands of lines take a few seconds.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.geocoding.geocoder import GeocodeResult
from incidents.geocoding.service import get_geocoder


class Command(BaseCommand):
    help = "Geocode free-text location descriptions with the offline gazetteer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("texts", nargs="*", help="Descriptions to geocode.")
        parser.add_argument("--hospital", default=None, help="Treating hospital site code.")
        parser.add_argument("--location-type", default=None, help="ISTV location type, if known.")
        parser.add_argument("--file", default=None, help="JSON lines input ('-' for stdin).")
        parser.add_argument("--json", action="store_true", help="One JSON object per line.")

    def handle(self, *args: Any, **options: Any) -> None:
        items: list[dict[str, Any]] = [
            {"text": t, "hospital": options["hospital"], "location_type": options["location_type"]}
            for t in options["texts"]
        ]
        if options["file"]:
            items.extend(self._read(options["file"], options["hospital"]))
        if not items:
            raise CommandError("Give one or more descriptions, or --file PATH.")
        results = get_geocoder().geocode_many(items)
        as_json = options["json"] or bool(options["file"])
        for result in results:
            self.stdout.write(
                json.dumps(result.to_dict(), ensure_ascii=False) if as_json else self._line(result)
            )

    @staticmethod
    def _read(path: str, default_hospital: str | None) -> list[dict[str, Any]]:
        items = []
        with contextlib.ExitStack() as stack:
            handle = (
                sys.stdin if path == "-" else stack.enter_context(Path(path).open(encoding="utf-8"))
            )
            for n, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CommandError(f"line {n}: not JSON ({exc.msg})") from exc
                if isinstance(row, str):
                    row = {"text": row}
                if not isinstance(row, dict):
                    raise CommandError(f"line {n}: expected an object with 'text'")
                row.setdefault("hospital", default_hospital)
                items.append(row)
        return items

    @staticmethod
    def _line(r: GeocodeResult) -> str:
        where = f"{r.lat:.6f},{r.lon:.6f} {r.precision} {r.borough}" if r.placed else "not placed"
        return (
            f"{r.text!r}: {r.result_class} ({where}; confidence {r.confidence}) - {r.explanation}"
        )
