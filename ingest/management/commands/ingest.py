"""``manage.py ingest FILE --hospital SITE --period YYYY-MM``: one file through the same
services as the browser upload, synchronously, printing one JSON summary.

Runs as the system (audit actor: none) unless ``--as EMAIL`` names the person doing it.
Exit status 0 when the file ends ready for review, published or checked (dry run), 1
otherwise (refused, rejected, quarantined, mapping needed, failed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import Http404

from accounts.models import User
from hospitals.models import HospitalSite, Submission
from ingest import services
from istv_portal.periods import Period

OK_STATUSES = {
    Submission.Status.READY_FOR_REVIEW,
    Submission.Status.PUBLISHED,
    Submission.Status.CHECKED,
}


class Command(BaseCommand):
    help = "Check, harmonise, geocode and load one hospital file; print a JSON summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--hospital", required=True, help="ODS site code, e.g. RJ122.")
        parser.add_argument("--period", required=True, help="Reporting month, YYYY-MM.")
        parser.add_argument("--dry-run", action="store_true", help="Check only; store nothing.")
        parser.add_argument(
            "--set-aside", action="store_true", help="Load valid rows, set invalid ones aside."
        )
        parser.add_argument(
            "--accept-suggested-mapping",
            action="store_true",
            help=(
                "Use the proposed mapping for an unseen layout, or for one that differs from "
                "the hospital's confirmed mapping, when it is complete (saved as a new version)."
            ),
        )
        parser.add_argument(
            "--publish", action="store_true", help="Publish at once if the checks pass."
        )
        parser.add_argument("--json", action="store_true", help="Compact one-line JSON.")
        parser.add_argument("--as", dest="as_email", help="E-mail of the user acting.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path.name}")
        try:
            period = Period.parse(options["period"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        site = HospitalSite.objects.filter(site_code__iexact=options["hospital"]).first()
        if site is None:
            raise CommandError(f"Unknown hospital site {options['hospital']!r}.")
        actor = None
        if options["as_email"]:
            actor = User.objects.filter(email__iexact=options["as_email"], is_active=True).first()
            if actor is None:
                raise CommandError("No active user with that e-mail address.")

        with path.open("rb") as handle:
            try:
                submission = services.submission_receive(
                    actor=actor,
                    site=site,
                    period=period,
                    upload=File(handle, name=path.name),
                    set_aside_invalid=options["set_aside"],
                    dry_run=options["dry_run"],
                    accept_suggested_mapping=options["accept_suggested_mapping"],
                    system=True,
                    enqueue=False,
                )
            except services.UploadRefused as exc:
                self._print(
                    {
                        "submission_id": None,
                        "status": "refused",
                        "code": exc.code,
                        "message": exc.message,
                        "rows_read": 0,
                        "accepted": 0,
                        "set_aside": 0,
                        "errors_by_code": {exc.code: 1},
                        "pii_findings_by_kind": {},
                        "geocoded_by_precision": {},
                    },
                    options,
                )
                raise SystemExit(1) from None
        duplicate = bool(getattr(submission, "duplicate", False))
        if not duplicate:
            submission = services.submission_process(submission_id=submission.pk)
        if options["publish"] and submission.status == Submission.Status.READY_FOR_REVIEW:
            try:
                submission = services.submission_publish(
                    actor=actor, submission=submission, system=actor is None
                )
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
            except Http404:
                raise CommandError("--publish with --as needs a data manager.") from None
        submission.refresh_from_db()
        submission.duplicate = duplicate  # type: ignore[attr-defined]
        self._print(services.summary(submission), options)
        if submission.status not in OK_STATUSES:
            raise SystemExit(1)

    def _print(self, data: Mapping[str, Any], options: dict[str, Any]) -> None:
        indent = None if options["json"] else 2
        self.stdout.write(json.dumps(data, indent=indent, default=str))
