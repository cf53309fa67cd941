"""Write realistic synthetic ISTV submission files (one per hospital per month)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ingest.synthetic import GeneratorOptions, generate
from istv_portal.periods import Period


class Command(BaseCommand):
    help = (
        "Generate synthetic ISTV submissions in the layouts London trusts send (CSV in "
        "several encodings, UTF-16 TSV, XLSX with title rows, ISTV XML, ECDS-shaped). "
        "Deterministic for a given --seed. No personal data unless --with-pii."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--months", type=int, default=1)
        parser.add_argument("--out", required=True, help="output directory")
        parser.add_argument("--scale", type=float, default=1.0, help="volume multiplier")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--start", default="2025-01", help="first month, YYYY-MM")
        parser.add_argument(
            "--fault-rate",
            type=float,
            default=0.0,
            help="share of rows with a fault (bad date, unknown code, blank)",
        )
        parser.add_argument(
            "--with-pii",
            action="store_true",
            help="add obviously fake personal data (for guard tests only)",
        )
        parser.add_argument(
            "--geo-dir",
            default=None,
            help="open London data directory (default: GAZETTEER_DIR, i.e. data/gazetteer)",
        )
        parser.add_argument(
            "--site", action="append", default=[], help="only this site code (repeatable)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["months"] < 1 or opts["scale"] <= 0 or not 0 <= opts["fault_rate"] <= 1:
            raise CommandError("--months >= 1, --scale > 0 and 0 <= --fault-rate <= 1")
        try:
            start = Period.parse(opts["start"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        geo = Path(opts["geo_dir"]) if opts["geo_dir"] else Path(settings.GAZETTEER_DIR)
        if not geo.is_dir():
            self.stderr.write(
                "Geo data directory not found; using a small built-in list of places."
            )
        files = generate(
            Path(opts["out"]),
            GeneratorOptions(
                months=opts["months"],
                start=start,
                scale=opts["scale"],
                seed=opts["seed"],
                fault_rate=opts["fault_rate"],
                with_pii=opts["with_pii"],
                geo_dir=geo,
                sites=tuple(s.upper() for s in opts["site"]),
            ),
        )
        rows = sum(f.rows for f in files)
        faults = sum(f.faults for f in files)
        self.stdout.write(
            f"Wrote {len(files)} files, {rows} rows ({faults} with faults) to {opts['out']}"
        )
