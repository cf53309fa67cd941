"""A file without an optional column its hospital's mapping names is read, not refused:
that item is recorded as not supplied for every row, with a warning in the report. A
missing required column still stops the file."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hospitals.models import Submission
from incidents.models import Incident
from ingest import services
from tests.submissions.helpers import CsvSpec, changed_layout_csv

pytestmark = pytest.mark.django_db
Status = Submission.Status
ROWS = 12


def _process(submission: Submission) -> Submission:
    return services.submission_process(submission_id=submission.pk)


def _without(*columns: str) -> bytes:
    return changed_layout_csv(CsvSpec(rows=ROWS), renames={}, drop=columns)


def test_missing_optional_column_is_accepted_and_not_supplied(
    receive: Callable[..., Submission],
) -> None:
    done = _process(receive(data=_without("Method Other")))
    assert done.status == Status.READY_FOR_REVIEW
    assert (done.rows_read, done.rows_accepted) == (ROWS, ROWS)
    incidents = Incident.objects.filter(submission=done)
    assert incidents.count() == ROWS
    assert set(incidents.values_list("method_other", flat=True)) == {""}
    warnings = [i for i in done.report["issues"] if i["code"] == "W008_OPTIONAL_COLUMN_MISSING"]
    assert len(warnings) == 1
    assert warnings[0]["column"] == "Method Other" and warnings[0]["severity"] == "warning"
    assert "missing" in warnings[0]["message"] and "not supplied" in warnings[0]["message"]
    assert done.report["warnings_by_code"]["W008_OPTIONAL_COLUMN_MISSING"] == 1
    assert done.report["mapping_status"] == "confirmed"
    assert "F031_SCHEMA_MISMATCH" not in done.report["errors_by_code"]


def test_missing_optional_time_column_leaves_times_not_known(
    receive: Callable[..., Submission],
) -> None:
    done = _process(receive(data=_without("Assault Time")))
    assert done.status == Status.READY_FOR_REVIEW and done.rows_accepted == ROWS
    incidents = Incident.objects.filter(submission=done)
    assert not incidents.filter(assault_time_known=True).exists()
    assert [i["column"] for i in done.report["issues"] if i["row"] is None] == ["Assault Time"]


@pytest.mark.parametrize("column", ["Assault Method", "Assault Date", "Location Type"])
def test_missing_required_column_still_stops_the_file(
    receive: Callable[..., Submission], column: str
) -> None:
    done = _process(receive(data=_without(column)))
    assert done.status == Status.MAPPING_NEEDED
    assert done.report["errors_by_code"] == {"F031_SCHEMA_MISMATCH": 1}
    assert f"'{column}'" in done.error
    assert not Incident.objects.filter(submission=done).exists()


def test_a_renamed_optional_column_is_a_changed_layout(
    receive: Callable[..., Submission],
) -> None:
    """Renamed, not dropped: the descriptions are there, so the mapping is asked for."""
    data = changed_layout_csv(CsvSpec(rows=ROWS), renames={"Method Other": "Method Others"})
    done = _process(receive(data=data))
    assert done.status == Status.MAPPING_NEEDED
    assert not Incident.objects.filter(submission=done).exists()
