"""Reference-data pages and the value choices on the mapping page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit.models import AuditEvent
from accounts.models import User
from hospitals.models import HospitalSite, MappingProfile, Submission
from incidents.models import HarmonisedCode, Incident, ValueSynonym
from ingest import services
from tests.factories import login_verified
from tests.submissions.helpers import (
    HEADER,
    PROFILE_COLUMNS,
    CsvSpec,
    unseen_layout_csv,
    upload,
)

pytestmark = pytest.mark.django_db


def test_data_manager_lists_codes_and_adds_a_site_synonym(
    client: Client, data_manager: User, site_a: HospitalSite
) -> None:
    login_verified(client, data_manager)
    page = client.get(reverse("ingest:reference_codes"), {"kind": "method", "source": ""})
    body = page.content.decode()
    assert page.status_code == 200
    assert "Glass or bottle" in body or "glass_bottle" in body
    assert "knife_sharp" in body
    response = client.post(
        reverse("ingest:reference_codes"),
        {
            "kind": "method",
            "source": site_a.site_code,
            "value": "  Machete ",
            "code": "method:knife_sharp",
        },
    )
    assert response.status_code == 302
    synonym = ValueSynonym.objects.get(kind="method", source=site_a.site_code, value="machete")
    assert synonym.code == "knife_sharp"
    filtered = client.get(
        reverse("ingest:reference_codes"), {"kind": "method", "source": site_a.site_code}
    )
    assert "machete" in filtered.content.decode()
    # A category of the other item is refused.
    wrong = client.post(
        reverse("ingest:reference_codes"),
        {"kind": "method", "source": "", "value": "tyre iron", "code": "location_type:street"},
    )
    assert wrong.status_code == 400
    assert not ValueSynonym.objects.filter(value="tyre iron").exists()
    delete = client.post(reverse("ingest:reference_synonym_delete", kwargs={"pk": synonym.pk}))
    assert delete.status_code == 302
    assert not ValueSynonym.objects.filter(pk=synonym.pk).exists()


def test_data_manager_edits_a_code_but_not_its_code(client: Client, data_manager: User) -> None:
    code = HarmonisedCode.objects.get(kind="location_type", code="school")
    login_verified(client, data_manager)
    url = reverse("ingest:reference_code_edit", kwargs={"pk": code.pk})
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"label": "School or college", "description": "Education", "code": "hacked"}
    )
    assert response.status_code == 302
    code.refresh_from_db()
    assert (code.code, code.label, code.is_active) == ("school", "School or college", False)
    event = AuditEvent.objects.get(action="mapping.changed", object_id=str(code.pk))
    assert event.details["before"]["is_active"] is True
    assert event.details["after"]["is_active"] is False


def test_mapping_page_round_trips_value_mappings(
    client: Client,
    liaison_b: User,
    site_b: HospitalSite,
    private_storage: object,
) -> None:
    data = unseen_layout_csv(CsvSpec(rows=10)).replace(b"Kicked", b"Qwerty")
    submission = services.submission_receive(
        actor=liaison_b,
        site=site_b,
        period="2025-05",
        upload=upload(data),
        set_aside_invalid=True,
        dry_run=False,
    )
    done = services.submission_process(submission_id=submission.pk)
    assert done.status == Submission.Status.MAPPING_NEEDED
    assert done.report["unmapped_values"] == {"method": ["Qwerty"]}

    login_verified(client, liaison_b)
    url = reverse("ingest:submission_mapping", kwargs={"pk": done.pk})
    page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200
    assert "Values we could not map" in body and "Qwerty" in body
    columns = {f"column_{i}": PROFILE_COLUMNS[name] for i, name in enumerate(HEADER)}
    response = client.post(url, {**columns, "value_method_0": "body_part"})
    assert response.status_code == 302, response.content.decode()[:2000]
    profile = MappingProfile.objects.filter(site=site_b).latest()
    assert profile.value_mappings == {"method": {"Qwerty": "body_part"}}

    again = services.submission_process(submission_id=done.pk)
    assert again.status == Submission.Status.READY_FOR_REVIEW
    rows = Incident.objects.filter(submission=again, method_raw="Qwerty")
    assert rows.count() == 2
    assert {r.method_code for r in rows} == {"body_part"}
    assert all("method:profile_value" in r.rules for r in rows)
