"""Every programme page x persona → expected status (cases built with tests/permission_matrix.py).

Pages someone may not use answer 404; writes by people without the role answer 403;
anonymous requests are sent to sign in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from incidents.models import Release
from programme import services
from tests.permission_matrix import (
    ANONYMOUS,
    ONE_OF_EACH_ROLE,
    Case,
    Fixture,
    everyone,
    run_case,
    url,
)
from tests.personas import PERSONAS, SOUTHWARK

pytestmark = pytest.mark.django_db
MEMBERS = {p: 200 for p in PERSONAS if p != "outsider"}
AGREEMENT_ADMINS = {"access_admin": 200, "data_manager": 200}
PROGRAMME_TEAM = {"aggregate_user": 200, "mopac_analyst": 200, "data_manager": 200,
                  "access_admin": 200}  # fmt: skip


def _path(label: str, build: Callable[[Fixture], str]) -> Callable[[Fixture], str]:
    build.label = label  # type: ignore[attr-defined]
    return build


def _release(name: str) -> Callable[[Fixture], str]:
    return _path(
        f"programme:{name}",
        lambda fx: reverse(f"programme:{name}", args=[fx("release_one").number]),
    )


def _transition(action: str, study: str) -> Callable[[Fixture], str]:
    return _path(
        "programme:case_study_transition",
        lambda fx: reverse("programme:case_study_transition", args=[fx(study).pk, action]),
    )


def _image(fx: Fixture) -> str:
    image = fx("study_image")
    return reverse("programme:case_study_image", args=[image.case_study_id, image.pk])


CASES: list[Case] = []
# --- agreements ---------------------------------------------------------------------------
for page in (
    "programme:agreement_list",
    "programme:agreement_create",
    url("programme:agreement_detail", pk="agreement"),
    url("programme:agreement_edit", pk="agreement"),
    url("programme:agreement_suspend", pk="agreement"),
    url("programme:agreement_end", pk="agreement"),
    url("programme:agreement_document", pk="agreement"),
):
    CASES += everyone("GET", page, allowed=AGREEMENT_ADMINS, others=404, personas=ONE_OF_EACH_ROLE)
for page in (
    url("programme:agreement_suspend", pk="agreement"),
    url("programme:agreement_end", pk="agreement"),
):
    CASES += everyone(
        "POST", page, allowed={"access_admin": 302, "data_manager": 302}, others=403,
        data={"reason": "Matrix test"},
    )  # fmt: skip
CASES += everyone(
    "POST", url("programme:agreement_edit", pk="agreement"), allowed={}, others=403,
    personas=tuple(p for p in PERSONAS if p not in AGREEMENT_ADMINS),
)  # fmt: skip
CASES += everyone(
    "POST", "programme:agreement_create", allowed={}, others=403,
    personas=tuple(p for p in PERSONAS if p not in AGREEMENT_ADMINS),
)  # fmt: skip

# --- release notes ------------------------------------------------------------------------
CASES += everyone(
    "GET", "programme:release_list", allowed=MEMBERS, others=404, personas=ONE_OF_EACH_ROLE
)
CASES += everyone("GET", _release("release_detail"), allowed=MEMBERS, others=404)
CASES += everyone("GET", _release("release_note_edit"), allowed={"data_manager": 200}, others=404)
CASES += everyone(
    "POST", _release("release_note_edit"), allowed={"data_manager": 302}, others=403,
    data={"body": "Notes", "save": "1"},
)  # fmt: skip

# --- guidance and feedback ----------------------------------------------------------------
CASES += everyone(
    "GET", "programme:guidance", allowed=MEMBERS, others=404, personas=ONE_OF_EACH_ROLE
)
CASES += everyone(
    "GET", _path("programme:guidance_page",
                 lambda fx: reverse("programme:guidance_page", args=["locations"])),
    allowed=MEMBERS, others=404, personas=ONE_OF_EACH_ROLE,
)  # fmt: skip
CASES += everyone(
    "GET", "programme:feedback_index",
    allowed={"liaison_a": 302, "liaison_b": 302, "data_manager": 200}, others=404,
)  # fmt: skip
CASES += everyone(
    "GET", url("programme:feedback_site", site_pk="site_a"),
    allowed={"liaison_a": 200, "data_manager": 200}, others=404,
)  # fmt: skip

# --- case studies -------------------------------------------------------------------------
CASES += everyone("GET", "programme:case_study_list", allowed=MEMBERS, others=404)
CASES += everyone(
    "GET", "programme:case_study_create", allowed={"org_lead": 200, "data_manager": 200},
    others=404,
)  # fmt: skip
CASES += everyone(
    "GET", url("programme:case_study_detail", pk="published_study"), allowed=MEMBERS, others=404
)
CASES += everyone(
    "GET", url("programme:case_study_detail", pk="draft_study"), allowed={"org_lead": 200},
    others=404,
)  # fmt: skip
CASES += everyone(
    "GET", url("programme:case_study_edit", pk="draft_study"), allowed={"org_lead": 200},
    others=404,
)  # fmt: skip
CASES += everyone("GET", _path("programme:case_study_image", _image), allowed=MEMBERS, others=404)
# Writes: out of sight is 404 for members, 403 for non-members; the author may.
_NON_AUTHOR_MEMBERS = dict.fromkeys(MEMBERS, 404)
CASES += everyone(
    "POST", _transition("submit", "draft_study"), allowed={**_NON_AUTHOR_MEMBERS, "org_lead": 302},
    others=403,
)  # fmt: skip
# Anonymous only: who may review is tested in test_case_studies.py.
CASES.append(Case("POST", _transition("publish", "published_study"), ANONYMOUS, 302))
CASES += everyone(
    "POST", _path("programme:case_study_image_add",
                  lambda fx: reverse("programme:case_study_image_add",
                                     args=[fx("published_study").pk])),
    allowed=dict.fromkeys(MEMBERS, 403), others=403,
)  # fmt: skip

# --- impact -------------------------------------------------------------------------------
for page in ("programme:impact", "programme:impact_csv"):
    CASES += everyone(
        "GET", page, allowed=PROGRAMME_TEAM, others=404,
        personas=(*ONE_OF_EACH_ROLE, "mopac_analyst", "mps_analyst"),
    )  # fmt: skip


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"


@pytest.fixture
def agreement(access_admin, org_mps):
    return services.agreement_create(
        actor=access_admin,
        providers=[],
        recipients=[org_mps],
        activate=True,
        reference="DSA-MATRIX",
        title="Matrix",
        legal_basis="Public task",
        purpose="Testing",
        ends_on=timezone.localdate() + dt.timedelta(days=400),
        document=SimpleUploadedFile("a.pdf", b"%PDF-1.7"),
    )


@pytest.fixture
def release_one(db):
    return Release.objects.create(number=1, label="2026-01")


@pytest.fixture
def published_study(org_gla, data_manager, access_admin):
    from accounts.models import Membership
    from tests.factories import MembershipFactory, UserFactory

    author = UserFactory(email="author@personas.test")
    MembershipFactory(user=author, organisation=org_gla, role=Membership.Role.DATA_MANAGER)
    study = services.case_study_create(
        actor=author, organisation=org_gla, title="Published", summary="s", body="b",
        boroughs=[SOUTHWARK],
    )  # fmt: skip
    services.case_study_image_add(
        actor=author, case_study=study, alt_text="A chart",
        upload=SimpleUploadedFile("c.png", b"\x89PNG\r\n\x1a\n0000"),
    )  # fmt: skip
    services.case_study_submit(actor=author, case_study=study)
    return services.case_study_publish(actor=data_manager, case_study=study)


@pytest.fixture
def study_image(published_study):
    return published_study.images.get()


@pytest.fixture
def draft_study(org_lead, org_southwark):
    return services.case_study_create(
        actor=org_lead, organisation=org_southwark, title="Draft", summary="s", body="b"
    )


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_permission_matrix(case: Case, client, request) -> None:
    run_case(case, client, request)


def test_matrix_covers_every_programme_url() -> None:
    from programme.urls import urlpatterns

    named = {f"programme:{p.name}" for p in urlpatterns}
    covered = {c.url if isinstance(c.url, str) else getattr(c.url, "label", "") for c in CASES}
    assert named <= covered, sorted(named - covered)
