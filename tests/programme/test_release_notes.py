"""Release notes: facts, pre-filled draft, safe rendering, publishing and visibility."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.audit.models import Action, AuditEvent
from incidents import release_notes
from incidents.models import ReleaseNote
from istv_portal.markdown import render_markdown
from programme import selectors, services
from tests.factories import login_verified

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=https://evil.example></iframe>",
    '<svg onload="alert(1)"></svg>',
    "[v](vbscript:msgbox(1))",
    '<div style="background:url(javascript:alert(1))">x</div>',
]


class _Elements(HTMLParser):
    """Every element and attribute the browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(name, value or "") for name, value in attrs]


def _elements(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markdown_neutralises_payload(payload: str) -> None:
    html = str(render_markdown(f"Intro\n\n{payload}\n\n**bold**"))
    found = _elements(html)
    assert not {"script", "iframe", "svg", "div", "style"} & set(found.tags)
    for name, value in found.attrs:
        assert not name.startswith("on"), html
        assert name != "style", html
        if name in {"href", "src"}:
            scheme = value.strip().split(":", 1)[0].lower() if ":" in value else ""
            assert scheme in {"", "http", "https", "mailto"}, html
    assert "<strong>bold</strong>" in html


def test_markdown_keeps_safe_formatting() -> None:
    html = str(
        render_markdown(
            "# Title\n\n- one\n- two\n\n[GLA](https://www.london.gov.uk) "
            "[mail](mailto:istv@example.org)\n\n| a | b |\n|---|---|\n| 1 | 2 |"
        )
    )
    assert "<h2>Title</h2>" in html  # the page owns the only h1
    assert "<li>one</li>" in html
    assert (
        'href="https://www.london.gov.uk"' in html and 'rel="noopener noreferrer nofollow"' in html
    )
    assert 'href="mailto:istv@example.org"' in html
    assert "<table>" in html and "<td>1</td>" in html


def test_raw_html_is_shown_as_text_not_run() -> None:
    html = str(render_markdown("<b>hi</b>"))
    assert "<b>" not in html
    assert "&lt;b&gt;hi&lt;/b&gt;" in html


def test_facts_and_prefill(release_pair, site_a, site_b, last_month) -> None:
    _, r2 = release_pair
    facts = selectors.release_facts(r2)
    assert facts["previous_release"] == 1
    added = {(r["site_code"], r["version"]) for r in facts["added"]}
    assert added == {("RJ122", 2), ("R1H12", 1)}
    assert [(r["site_code"], r["version"]) for r in facts["resubmissions"]] == [("RJ122", 2)]
    gaps = {g["site_code"]: g["months"] for g in facts["gaps"]}
    # Site B has only last month; site A has the last two months.
    assert last_month.isoformat() not in gaps["R1H12"]
    assert len(gaps["R1H12"]) == 11
    assert len(gaps["RJ122"]) == 10
    body = selectors.release_note_prefill(facts, r2)
    assert "## What this release adds" in body
    assert f"{site_b.name} (R1H12): {last_month:%B %Y}" in body
    assert "replaced by version 2" in body
    assert "## Coverage gaps" in body and "## Known issues" in body


def test_only_data_managers_write_and_publish(release_pair, data_manager, mps_analyst) -> None:
    _, r2 = release_pair
    with pytest.raises(PermissionDenied):
        services.release_note_save(actor=mps_analyst, release=r2, body="x")
    note = services.release_note_save(actor=data_manager, release=r2, body="Notes")
    assert release_notes.release_note_for(r2) is None  # drafts are not shown
    assert release_notes.latest_release_note() is None
    services.release_note_publish(actor=data_manager, note=note)
    assert release_notes.release_note_for(r2).pk == note.pk
    assert release_notes.latest_release_note().pk == note.pk
    actions = list(
        AuditEvent.objects.filter(action__startswith="release_notes.").values_list(
            "action", flat=True
        )
    )
    assert actions == [Action.RELEASE_NOTES_SAVED, Action.RELEASE_NOTES_PUBLISHED]


def test_edit_page_prefills_and_publishes(client, release_pair, data_manager, mps_analyst) -> None:
    _, r2 = release_pair
    url = reverse("programme:release_note_edit", args=[r2.number])
    login_verified(client, data_manager)
    page = client.get(url)
    assert page.status_code == 200
    assert b"What this release adds" in page.content
    preview = client.post(url, {"body": "# Hi\n\n<script>x</script>", "preview": "1"})
    assert b"&lt;script&gt;" in preview.content and b"<script>x" not in preview.content
    assert not ReleaseNote.objects.exists()
    response = client.post(url, {"body": "## Known issues\n\nNone.", "publish": "1"})
    assert response.status_code == 302
    note = ReleaseNote.objects.get(release=r2)
    assert note.status == ReleaseNote.Status.PUBLISHED and note.author == data_manager
    login_verified(client, mps_analyst)
    shown = client.get(reverse("programme:release_detail", args=[r2.number]))
    assert b"<h2>Known issues</h2>" in shown.content
    assert client.get(url).status_code == 404


def test_draft_hidden_from_analysts(client, release_pair, data_manager, mps_analyst) -> None:
    _, r2 = release_pair
    services.release_note_save(actor=data_manager, release=r2, body="DRAFT-TEXT")
    login_verified(client, mps_analyst)
    page = client.get(reverse("programme:release_detail", args=[r2.number]))
    assert page.status_code == 200 and b"DRAFT-TEXT" not in page.content
    login_verified(client, data_manager)
    assert (
        b"DRAFT-TEXT" in client.get(reverse("programme:release_detail", args=[r2.number])).content
    )


def test_release_note_history_stays_under_one_audit_object_type(release_pair, data_manager) -> None:
    # The model moved from programme to incidents (same table); its events keep the name
    # the earlier ones carry.
    _, r2 = release_pair
    note = services.release_note_save(actor=data_manager, release=r2, body="Notes")
    services.release_note_publish(actor=data_manager, note=note)
    events = AuditEvent.objects.filter(object_id=str(note.pk)).filter(
        action__in=[Action.RELEASE_NOTES_SAVED, Action.RELEASE_NOTES_PUBLISHED]
    )
    assert events.count() == 2
    assert set(events.values_list("object_type", flat=True)) == {"programme.releasenote"}
    assert ReleaseNote._meta.db_table == "programme_releasenote"
