"""Processing one file costs a fixed, small number of database round trips.

With one worker, a London year (336 files) spends most of its time waiting on PostgreSQL
round trips rather than in the pipeline (docs/pipeline.md, "Speed"), so the count per
file is held here: any new query on the per-file path has to be worth it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hospitals.models import Submission
from incidents.geocoding.service import get_geocoder
from incidents.models import Incident
from ingest import services
from tests.submissions.helpers import CsvSpec

pytestmark = pytest.mark.django_db

# Reads: the submission, its site's mappings, the reference tables' and the learned
# aliases' versions (one statement), the scorecard history, earlier versions to
# supersede. Writes: the start, "Loading", the rows (COPY), the result. The processing
# lock with the progress-commit setting, and its release with the setting's reset; the
# durable commit, and the audit chain's append (one statement). (Inside the test's
# transaction, the load's own transaction shows as a savepoint and its release, standing
# for BEGIN and COMMIT.)
QUERIES_PER_FILE = 15


def test_one_file_takes_a_fixed_number_of_queries_whatever_its_rows(
    receive: Callable[..., Submission],
) -> None:
    # A first file warms what a worker keeps between files (geocoder, reference tables).
    first = CsvSpec(rows=10, period=date(2025, 4, 1))
    services.submission_process(submission_id=receive(first, period="2025-04").pk)
    get_geocoder()
    counts = []
    for month, rows in ((5, 30), (6, 120)):
        spec = CsvSpec(rows=rows, period=date(2025, month, 1))
        submission = receive(spec, period=f"2025-{month:02d}")
        with CaptureQueriesContext(connection) as queries:
            done = services.submission_process(submission_id=submission.pk)
        assert done.status == Submission.Status.READY_FOR_REVIEW
        assert Incident.objects.filter(submission=done).count() == rows
        sql = "\n".join(q["sql"][:100] for q in queries.captured_queries)
        assert len(queries) <= QUERIES_PER_FILE, sql
        counts.append(len(queries))
    assert counts[0] == counts[1]  # no query per row


def test_a_file_already_finished_is_not_run_again(receive: Callable[..., Submission]) -> None:
    done = services.submission_process(submission_id=receive(CsvSpec(rows=10)).pk)
    again = services.submission_process(submission_id=done.pk)
    assert again.status == done.status == Submission.Status.READY_FOR_REVIEW
    assert again.attempts == 1
    assert Incident.objects.filter(submission=done).count() == 10
