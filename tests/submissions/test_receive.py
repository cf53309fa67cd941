"""submission_receive: upload rights, intake refusals, private storage, duplicates."""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from accounts.audit.denials import OutOfScope
from accounts.audit.models import AuditEvent
from accounts.models import User
from hospitals.models import HospitalSite, Submission
from ingest import services
from tests.submissions.helpers import CsvSpec, csv_bytes, upload, zip_bomb_xlsx

pytestmark = pytest.mark.django_db


def _stored(root: Path) -> list[Path]:
    folder = root / "private"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_liaison_of_another_site_gets_404(liaison_b: User, site_a: HospitalSite) -> None:
    with pytest.raises(OutOfScope):
        services.submission_receive(
            actor=liaison_b,
            site=site_a,
            period="2025-05",
            upload=upload(csv_bytes()),
            set_aside_invalid=False,
            dry_run=False,
        )
    assert not Submission.objects.exists()


def test_analyst_without_upload_right_gets_404(mps_analyst: User, site_a: HospitalSite) -> None:
    with pytest.raises(OutOfScope):
        services.submission_receive(
            actor=mps_analyst,
            site=site_a,
            period="2025-05",
            upload=upload(csv_bytes()),
            set_aside_invalid=False,
            dry_run=False,
        )


def test_received_file_is_private_uuid_named_0600(
    receive: Callable[..., Submission], private_storage: Path
) -> None:
    submission = receive(name="../../etc/x.csv")
    files = _stored(private_storage)
    assert [f.name for f in files] == [submission.stored_name]
    assert len(submission.stored_name) == 32
    assert set(submission.stored_name) <= set("0123456789abcdef")
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert submission.original_name == "x.csv"  # metadata only, path stripped
    assert submission.status == Submission.Status.RECEIVED
    assert submission.version == 1
    assert submission.sha256 == hashlib.sha256(csv_bytes()).hexdigest()
    assert AuditEvent.objects.filter(
        action="submission.uploaded", object_id=str(submission.pk)
    ).exists()


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("report.exe.csv", csv_bytes(), "F001_EXTENSION_NOT_ALLOWED"),
        ("report.pdf", b"%PDF-1.4", "F001_EXTENSION_NOT_ALLOWED"),
        ("page.csv", b"<html><body>hi</body></html>", "F005_CONTENT_MISMATCH"),
        ("book.xlsx", zip_bomb_xlsx(), "F010_ZIP_BOMB"),
        ("empty.csv", b"   ", "F004_EMPTY_FILE"),
    ],
)
def test_refused_files_are_audited_and_nothing_is_stored(
    receive: Callable[..., Submission], private_storage: Path, name: str, data: bytes, code: str
) -> None:
    with pytest.raises(services.UploadRefused) as caught:
        receive(data=data, name=name)
    assert caught.value.code == code
    assert caught.value.message
    assert not Submission.objects.exists()
    assert _stored(private_storage) == []
    event = AuditEvent.objects.get(action="submission.rejected")
    assert event.details["code"] == code


def test_over_size_limit_refused_while_streaming(
    receive: Callable[..., Submission], private_storage: Path, settings: object
) -> None:
    settings.UPLOAD_MAX_BYTES = 2048  # type: ignore[attr-defined]
    with pytest.raises(services.UploadRefused) as caught:
        receive(CsvSpec(rows=200))
    assert caught.value.code == "F003_TOO_LARGE"
    assert _stored(private_storage) == []


def test_same_bytes_twice_is_one_submission(
    receive: Callable[..., Submission], private_storage: Path
) -> None:
    first = receive()
    second = receive()
    assert second.pk == first.pk
    assert second.duplicate is True  # type: ignore[attr-defined]
    assert Submission.objects.count() == 1
    assert len(_stored(private_storage)) == 1


def test_new_bytes_get_the_next_version(receive: Callable[..., Submission]) -> None:
    first = receive()
    second = receive(CsvSpec(seed=1))
    assert (first.version, second.version) == (1, 2)
    other_month = receive(CsvSpec(seed=1), period="2025-06")
    assert other_month.version == 1


def test_upload_is_queued_after_commit(
    receive: Callable[..., Submission],
    django_capture_on_commit_callbacks: Callable[..., object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[int] = []
    monkeypatch.setattr(
        "ingest.services.receive.submission_enqueue",
        lambda *, submission_id: sent.append(submission_id),
    )
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        submission = receive()
    assert sent == [submission.pk]
