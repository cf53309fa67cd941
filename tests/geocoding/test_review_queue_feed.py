"""The geocode review queue is fed by the pipeline: every stored file and every retry of
rows stored pending queue what ``needs_review`` selects, per phrase and hospital, with
the number of incidents a decision would settle. Dry runs queue nothing. The last test
drives the whole review-and-learn loop with a real Celery worker.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit.models import AuditEvent
from accounts.models import User
from hospitals.models import HospitalSite, Submission
from incidents.geocoding.geocoder import NO_GAZETTEER, Geocoder, GeocodeResult
from incidents.geocoding.loaders import gazetteer_load
from incidents.geocoding.models import LearnedAlias, ReviewItem
from incidents.geocoding.selectors import review_queue_for
from incidents.geocoding.service import reset_geocoder
from incidents.geocoding.services import needs_review, review_items_record
from incidents.models import Incident
from ingest import geocode_retry, services
from tests.factories import login_verified
from tests.geocoding.conftest import write_mini_gazetteer
from tests.submissions.helpers import HEADER, confirm_test_layout, upload, use_private_storage
from tests.worker import WorkerHandle, wait_until

Status = Submission.Status
# At St Thomas' (RJ122, no hospital point in the mini gazetteer) "Albert Road" has two
# equally likely streets (not placed, both candidates kept) and "the chicken shop" matches
# nothing: both need a person. Brixton station and a home never do.
CONTESTED = "Albert Road"
UNMATCHED = "the chicken shop"
MAY_ROWS = {CONTESTED: 5, UNMATCHED: 3, "o/s Brixton stn": 2, "pt's home": 2}


def _csv(counts: dict[str, int], period: date) -> bytes:
    lines = [",".join(HEADER)]
    day = 0
    for text, n in counts.items():
        for _ in range(n):
            d = f"{1 + day % 27:02d}/{period:%m/%Y}"
            lines.append(",".join([d, "21:10", d, "21:00", "Fist", "", "Street", text]))
            day += 1
    return ("\r\n".join(lines) + "\r\n").encode()


def _open_items() -> dict[str, int]:
    return dict(
        ReviewItem.objects.filter(status=ReviewItem.Status.OPEN).values_list(
            "phrase", "occurrences"
        )
    )


@pytest.fixture
def gazetteer(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "geo"
    directory.mkdir()
    gazetteer_load(directory=write_mini_gazetteer(directory))
    reset_geocoder()
    yield directory
    reset_geocoder()


@pytest.fixture
def storage_root(settings: object, tmp_path: Path) -> Path:
    return use_private_storage(settings, tmp_path)


@pytest.fixture
def mapped_site(site_a: HospitalSite) -> HospitalSite:
    return confirm_test_layout(site_a)


def _ingest(
    site: HospitalSite,
    actor: User,
    counts: dict[str, int],
    *,
    period: date = date(2025, 5, 1),
    dry_run: bool = False,
    set_aside_invalid: bool = False,
) -> Submission:
    submission = services.submission_receive(
        actor=actor,
        site=site,
        period=f"{period:%Y-%m}",
        upload=upload(_csv(counts, period)),
        set_aside_invalid=set_aside_invalid,
        dry_run=dry_run,
        enqueue=False,
    )
    return services.submission_process(submission_id=submission.pk)


# --- what needs a person ----------------------------------------------------------------


def _result(**kwargs: object) -> GeocodeResult:
    return GeocodeResult(**{"text": "x", "normalised": "x", **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (_result(result_class="place", confidence=0.9), False),
        (_result(result_class="place", confidence=0.5), True),
        (
            _result(result_class="place", confidence=0.9, alternatives=({"name": "other"},)),
            True,
        ),
        (_result(result_class="unknown", method="street_ambiguous"), True),
        (_result(result_class="unknown", method="none", explanation="no entry matched"), True),
        (_result(result_class="unknown", method="rule"), False),  # "n/k": nothing to decide
        (_result(result_class="unknown", method="none", explanation=NO_GAZETTEER), False),
        (_result(result_class="home", method="rule"), False),
        (_result(result_class="place", confidence=0.3, method="learned_alias"), False),
    ],
)
def test_what_needs_review(result: GeocodeResult, expected: bool) -> None:
    assert needs_review(result) is expected


@pytest.mark.django_db
def test_one_write_per_phrase_counts_every_incident_and_skips_decided(
    mini_geocoder: Geocoder, data_manager: User
) -> None:
    albert = mini_geocoder.geocode(CONTESTED, "RJ122")
    chicken = mini_geocoder.geocode(UNMATCHED, "RJ122")
    placed = mini_geocoder.geocode("o/s Brixton stn", "RJ122")
    pairs = [(albert, "RJ122")] * 40 + [(chicken, "RJ122")] * 3 + [(placed, "RJ122")] * 9
    assert review_items_record(results=pairs) == 43
    assert _open_items() == {"albert rd": 40, "the chicken shop": 3}
    # The same phrase at another hospital is another decision.
    review_items_record(results=[(albert, "RQXM1")] * 2)
    # Another file: counts add up.
    assert review_items_record(results=[(chicken, "RJ122")] * 50) == 50
    queue = list(review_queue_for(data_manager))
    assert [(i.phrase, i.hospital, i.occurrences) for i in queue] == [
        ("the chicken shop", "RJ122", 53),
        ("albert rd", "RJ122", 40),
        ("albert rd", "RQXM1", 2),
    ]
    # A decided phrase is neither reopened nor counted.
    ReviewItem.objects.filter(phrase="albert rd", hospital="RJ122").update(
        status=ReviewItem.Status.DECIDED
    )
    assert review_items_record(results=[(albert, "RJ122")] * 5) == 0
    decided = ReviewItem.objects.get(phrase="albert rd", hospital="RJ122")
    assert decided.status == ReviewItem.Status.DECIDED and decided.occurrences == 40


@pytest.mark.django_db
def test_many_phrases_are_written_in_batches(
    mini_geocoder: Geocoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incidents.geocoding import services as review_services

    monkeypatch.setattr(review_services, "_UPSERT_BATCH", 2)
    results = [mini_geocoder.geocode(f"the chicken shop {n}", "RJ122") for n in range(5)]
    pairs = [(r, "RJ122") for r in results for _ in range(3)]
    assert review_items_record(results=pairs) == 15
    assert review_items_record(results=pairs[:3]) == 3
    assert sorted(_open_items().values()) == [3, 3, 3, 3, 6]


@pytest.mark.django_db
def test_equal_counts_oldest_first(mini_geocoder: Geocoder, data_manager: User) -> None:
    first = mini_geocoder.geocode(UNMATCHED, "RJ122")
    second = mini_geocoder.geocode("Station Road", "RJ122")
    review_items_record(results=[(first, "RJ122")] * 2)
    review_items_record(results=[(second, "RJ122")] * 2)
    assert [i.phrase for i in review_queue_for(data_manager)] == ["the chicken shop", "stn rd"]


# --- ingest and retry feed it -----------------------------------------------------------


@pytest.mark.django_db
def test_a_stored_file_queues_its_uncertain_phrases_with_incident_counts(
    gazetteer: Path,
    storage_root: Path,
    mapped_site: HospitalSite,
    liaison_a: User,
    data_manager: User,
    client: Client,
) -> None:
    done = _ingest(mapped_site, liaison_a, MAY_ROWS)
    assert done.status == Status.READY_FOR_REVIEW
    assert _open_items() == {"albert rd": 5, "the chicken shop": 3}
    item = ReviewItem.objects.get(phrase="albert rd")
    assert item.hospital == "RJ122" and item.text == CONTESTED
    assert len(item.result["alternatives"]) == 2

    # The page lists them, most incidents first.
    login_verified(client, data_manager)
    body = client.get(reverse("geocoding:review_list")).content.decode()
    assert "Nothing to review" not in body
    assert body.index(CONTESTED) < body.index(UNMATCHED)


@pytest.mark.django_db
def test_dry_runs_and_rejected_files_queue_nothing(
    gazetteer: Path, storage_root: Path, mapped_site: HospitalSite, liaison_a: User
) -> None:
    checked = _ingest(mapped_site, liaison_a, MAY_ROWS, dry_run=True)
    assert checked.status == Status.CHECKED
    # One unreadable assault date, and the liaison chose to reject the whole file.
    data = _csv(MAY_ROWS, date(2025, 5, 1)).replace(b"02/05/2025,21:00", b"31/31/2025,21:00")
    rejected = services.submission_receive(
        actor=liaison_a,
        site=mapped_site,
        period="2025-05",
        upload=upload(data),
        set_aside_invalid=False,
        dry_run=False,
        enqueue=False,
    )
    assert services.submission_process(submission_id=rejected.pk).status == Status.REJECTED
    assert not ReviewItem.objects.exists()


@pytest.mark.django_db
def test_the_queued_phrase_is_the_redacted_description(
    gazetteer: Path, storage_root: Path, mapped_site: HospitalSite, liaison_a: User
) -> None:
    """The personal-data guard runs in ``process_file``, before geocoding: the queue only
    ever sees the redacted text (Ofcom drama-range number: never a real line)."""
    done = _ingest(mapped_site, liaison_a, {"nr chicken shop call 07700 900123": 2})
    assert done.status == Status.READY_FOR_REVIEW
    item = ReviewItem.objects.get()
    assert item.text == "nr chicken shop call [redacted]" and item.occurrences == 2
    stored = json.dumps([item.phrase, item.text, item.result])
    assert "07700" not in stored and "900123" not in stored


@pytest.mark.django_db
def test_the_pending_retry_queues_what_it_geocodes(
    gazetteer: Path,
    storage_root: Path,
    mapped_site: HospitalSite,
    liaison_a: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def down(self: Geocoder, items: object) -> list[GeocodeResult]:
        raise TimeoutError("geocoder timed out")

    with monkeypatch.context() as patch:
        patch.setattr(Geocoder, "geocode_many", down)
        done = _ingest(mapped_site, liaison_a, MAY_ROWS)
    assert done.status == Status.READY_FOR_REVIEW
    assert not ReviewItem.objects.exists()  # nothing geocoded, nothing to review yet

    assert geocode_retry.pending_geocodes_retry(batch_rows=5).status == "completed"
    assert _open_items() == {"albert rd": 5, "the chicken shop": 3}
    assert geocode_retry.pending_geocodes_retry().status == "nothing_pending"
    assert _open_items() == {"albert rd": 5, "the chicken shop": 3}  # counted once


@pytest.mark.django_db
def test_demo_data_fills_the_queue(gazetteer: Path, site_a: HospitalSite, tmp_path: Path) -> None:
    from ingest.demo import seed_demo_submissions

    counts = seed_demo_submissions(months=1, geo_dir=tmp_path / "none", today=date(2025, 6, 3))
    assert counts == {"published": 1}
    open_items = ReviewItem.objects.filter(status=ReviewItem.Status.OPEN)
    assert open_items.count() > 0
    stored = sum(open_items.values_list("occurrences", flat=True))
    assert 0 < stored <= Incident.objects.count()


# --- the loop, with a real worker -------------------------------------------------------


def _decide(client: Client, item: ReviewItem, **data: str) -> None:
    response = client.post(reverse("geocoding:review_detail", args=[item.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]


def _rows(submission: Submission, texts: Sequence[str]) -> list[Incident]:
    return list(Incident.objects.filter(submission=submission, location_description__in=texts))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_upload_review_learn_and_next_month_is_placed_by_the_alias(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    gazetteer: Path,
    storage_root: Path,
    mapped_site: HospitalSite,
    liaison_a: User,
    data_manager: User,
) -> None:
    # The worker reads the storage roots from its environment; the gazetteer from the
    # test database this test commits to.
    monkeypatch.setenv("PRIVATE_STORAGE_ROOT", str(storage_root / "private"))
    monkeypatch.setenv("QUARANTINE_STORAGE_ROOT", str(storage_root / "quarantine"))
    monkeypatch.setenv("CELERY_SKIP_CHECKS", "1")
    worker: WorkerHandle = request.getfixturevalue("celery_worker_proc")

    # May: uploaded as the liaison would, processed by the worker.
    may = services.submission_receive(
        actor=liaison_a,
        site=mapped_site,
        period="2025-05",
        upload=upload(_csv(MAY_ROWS, date(2025, 5, 1))),
        set_aside_invalid=False,
        dry_run=False,
    )
    assert wait_until(
        lambda: Submission.objects.get(pk=may.pk).status == Status.READY_FOR_REVIEW, timeout=60
    ), worker.log()[-3000:]
    assert _open_items() == {"albert rd": 5, "the chicken shop": 3}
    assert {r.geo_class for r in _rows(may, [CONTESTED])} == {"unknown"}

    # The data manager decides the item that settles most incidents, on the review page.
    client = Client()
    login_verified(client, data_manager)
    listing = client.get(reverse("geocoding:review_list")).content.decode()
    assert listing.index(CONTESTED) < listing.index(UNMATCHED)
    item = review_queue_for(data_manager).first()
    assert item is not None and item.phrase == "albert rd"
    alternative = item.result["alternatives"][0]
    chosen = ("learned_alias", round(alternative["lat"], 6), round(alternative["lon"], 6))
    _decide(client, item, decision="accept", candidate="0")

    # May's rows with the phrase are geocoded again at once, as the reviewer said.
    may_albert = _rows(may, [CONTESTED])
    assert len(may_albert) == 5
    assert {(r.geo_method, r.lat, r.lon) for r in may_albert} == {chosen}
    event = AuditEvent.objects.get(action="geocode.corrected")
    assert event.details["incidents_updated"] == 5
    assert LearnedAlias.objects.filter(phrase="albert rd", hospital="RJ122").exists()

    # June, a moment later, through the same worker (its geocoder was built in May): the
    # alias places the phrase, whatever the wording, and it is not queued again.
    june_rows = {CONTESTED: 3, "ALBERT RD": 1, UNMATCHED: 2}
    june = services.submission_receive(
        actor=liaison_a,
        site=mapped_site,
        period="2025-06",
        upload=upload(_csv(june_rows, date(2025, 6, 1)), "june.csv"),
        set_aside_invalid=False,
        dry_run=False,
    )
    assert wait_until(
        lambda: Submission.objects.get(pk=june.pk).status == Status.READY_FOR_REVIEW,
        timeout=60,
    ), worker.log()[-3000:]
    june_albert = list(
        Incident.objects.filter(submission=june).exclude(location_description=UNMATCHED)
    )
    assert len(june_albert) == 4
    assert {(r.geo_method, r.lat, r.lon) for r in june_albert} == {chosen}
    assert _open_items() == {"the chicken shop": 5}
    decided = ReviewItem.objects.get(phrase="albert rd", hospital="RJ122")
    assert decided.status == ReviewItem.Status.DECIDED and decided.occurrences == 5
    assert worker.executed().get("ingest.tasks.process_submission") == 2
