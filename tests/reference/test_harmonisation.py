"""The data managers' reference data drives harmonisation, end to end."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from accounts.audit.denials import OutOfScope
from accounts.audit.models import AuditEvent
from accounts.models import User
from hospitals.models import HospitalSite, MappingProfile, Submission
from incidents.models import HarmonisedCode, Incident, ValueSynonym
from ingest import reference_services as ref
from ingest import services
from tests.submissions.helpers import CsvSpec, csv_bytes

pytestmark = pytest.mark.django_db

# The generated CSV cycles through these method and place values (tests/submissions).
ROWS = CsvSpec(rows=10)


def _methods(receive: Callable[..., Submission], seed: int = 0) -> Counter[tuple[str, str]]:
    submission = receive(CsvSpec(rows=10, seed=seed))
    done = services.submission_process(submission_id=submission.pk)
    assert done.status == Submission.Status.READY_FOR_REVIEW, done.report
    return Counter(
        Incident.objects.filter(submission=done).values_list("method_raw", "method_code")
    )


def _location_codes(submission: Submission) -> Counter[tuple[str, str]]:
    return Counter(
        Incident.objects.filter(submission=submission).values_list(
            "location_type_raw", "location_type_code"
        )
    )


def test_reference_tables_are_seeded() -> None:
    assert HarmonisedCode.objects.filter(kind="method", code="knife_sharp").exists()
    assert ValueSynonym.objects.filter(source="").count() > 20


def test_synonym_added_by_data_manager_changes_next_file(
    receive: Callable[..., Submission], data_manager: User
) -> None:
    before = _methods(receive)
    assert before[("Kicked", "body_part")] == 2
    ref.value_synonym_add(
        actor=data_manager, kind="method", source="", value="  KICKED ", code="blunt_object"
    )
    after = _methods(receive, seed=1)
    assert after[("Kicked", "blunt_object")] == 2
    assert ("Kicked", "body_part") not in after
    incident = Incident.objects.filter(method_raw="Kicked", method_code="blunt_object").first()
    assert incident is not None and "method:reference" in incident.rules


def test_site_synonym_beats_global_and_applies_only_to_its_site(
    receive: Callable[..., Submission], data_manager: User, site_b: HospitalSite
) -> None:
    ref.value_synonym_add(actor=data_manager, kind="method", source="", value="knife", code="other")
    ref.value_synonym_add(
        actor=data_manager, kind="method", source=site_b.site_code, value="knife", code="firearm"
    )
    # Site A: the all-hospital row applies, site B's row does not.
    assert _methods(receive)[("Knife", "other")] == 2
    ref.value_synonym_add(
        actor=data_manager, kind="method", source="RJ122", value="knife", code="corrosive"
    )
    assert _methods(receive, seed=1)[("Knife", "corrosive")] == 2
    references = ref.code_references_for_site(site_b.site_code)
    method_ref = references["method"]
    assert method_ref is not None and method_ref.synonyms["knife"] == "firearm"


def test_inactive_code_is_never_produced(
    receive: Callable[..., Submission], data_manager: User
) -> None:
    for kind, value in (("location_type", "licensed_premises"), ("method", "glass_bottle")):
        code = HarmonisedCode.objects.get(kind=kind, code=value)
        ref.harmonised_code_update(
            actor=data_manager, code=code, label=code.label, description="", is_active=False
        )
    submission = receive(ROWS)
    done = services.submission_process(submission_id=submission.pk)
    assert done.status == Submission.Status.READY_FOR_REVIEW
    incidents = Incident.objects.filter(submission=done)
    assert incidents.count() == 10
    assert not incidents.filter(location_type_code="licensed_premises").exists()
    assert not incidents.filter(method_code="glass_bottle").exists()
    assert set(incidents.filter(method_raw="Bottle").values_list("method_code", flat=True)) == {
        "not_known"
    }
    # "Pub" rows: not known, then (as for any not-known type) read from the description.
    assert sum(n for (raw, _), n in _location_codes(done).items() if raw == "Pub") == 2
    assert done.report["warnings_by_code"]["W007_CODE_RETIRED"] == 4
    # A synonym can no longer point at the retired code.
    with pytest.raises(Exception, match="active code"):
        ref.value_synonym_add(
            actor=data_manager,
            kind="location_type",
            source="",
            value="bar",
            code="licensed_premises",
        )


def test_profile_value_mappings_apply_first(
    receive: Callable[..., Submission], data_manager: User, mapped_site: HospitalSite
) -> None:
    ref.value_synonym_add(
        actor=data_manager, kind="location_type", source="", value="park", code="street"
    )
    MappingProfile.objects.filter(site=mapped_site).update(
        value_mappings={"location_type": {"Park": "school"}}
    )
    submission = receive(ROWS)
    done = services.submission_process(submission_id=submission.pk)
    assert _location_codes(done)[("Park", "school")] == 2


def test_edits_are_audited_with_before_and_after(data_manager: User) -> None:
    code = HarmonisedCode.objects.get(kind="method", code="firearm")
    ref.harmonised_code_update(
        actor=data_manager, code=code, label="Gun", description="Any firearm", is_active=True
    )
    event = AuditEvent.objects.get(action="mapping.changed", object_id=str(code.pk))
    assert event.details["before"]["label"] == code.label
    assert event.details["after"] == {
        "label": "Gun",
        "description": "Any firearm",
        "is_active": True,
    }
    synonym = ref.value_synonym_add(
        actor=data_manager, kind="method", source="", value="Shank", code="knife_sharp"
    )
    assert synonym.value == "shank"
    ref.value_synonym_delete(actor=data_manager, synonym=synonym)
    events = AuditEvent.objects.filter(
        action="mapping.changed", object_type="incidents.valuesynonym", object_id=str(synonym.pk)
    ).order_by("pk")
    assert [e.details["change"] for e in events] == ["synonym_added", "synonym_deleted"]
    assert events[0].details["after"]["code"] == "knife_sharp"
    assert events[1].details["before"]["value"] == "shank" and events[1].details["after"] is None
    assert not ValueSynonym.objects.filter(pk=synonym.pk).exists()


def test_only_data_managers_may_edit(liaison_a: User, southwark_analyst: User) -> None:
    code = HarmonisedCode.objects.get(kind="method", code="firearm")
    for user in (liaison_a, southwark_analyst):
        with pytest.raises(OutOfScope):
            ref.harmonised_code_update(
                actor=user, code=code, label="X", description="", is_active=False
            )
        with pytest.raises(OutOfScope):
            ref.value_synonym_add(actor=user, kind="method", source="", value="x", code="other")
    code.refresh_from_db()
    assert code.is_active and code.label != "X"


def test_unknown_values_are_reported_then_mapped_by_a_new_synonym(
    receive: Callable[..., Submission], data_manager: User
) -> None:
    data = csv_bytes(CsvSpec(rows=10)).replace(b"Kicked", b"Qwerty")
    first = services.submission_process(submission_id=receive(data=data, set_aside=True).pk)
    assert first.rows_set_aside == 2
    # Only the coded fields, values only; never free-text descriptions.
    assert first.report["unmapped_values"] == {"method": ["Qwerty"]}
    ref.value_synonym_add(
        actor=data_manager, kind="method", source="", value="qwerty", code="other"
    )
    data = csv_bytes(CsvSpec(rows=10, seed=1)).replace(b"Kicked", b"Qwerty")
    second = services.submission_process(submission_id=receive(data=data, set_aside=True).pk)
    assert second.rows_set_aside == 0 and second.report["unmapped_values"] == {}
    assert Incident.objects.filter(submission=second, method_code="other").count() == 2
