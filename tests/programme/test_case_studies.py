"""Case studies: authoring, four-eyes review, visibility, filters, search and images."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.audit.models import Action, AuditEvent
from accounts.models import Membership
from programme import selectors, services
from programme.models import CaseStudy
from tests.factories import MembershipFactory, UserFactory, login_verified
from tests.personas import LAMBETH, SOUTHWARK

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"


@pytest.fixture
def second_data_manager(org_gla):
    user = UserFactory(email="dm2@personas.test")
    MembershipFactory(user=user, organisation=org_gla, role=Membership.Role.DATA_MANAGER)
    return user


def _study(author, org, **values):
    defaults = {
        "title": "Night-time economy in Peckham",
        "summary": "Licensing work cut late-night glassings.",
        "body": "Working with **licensees** on Rye Lane reduced glass injuries.",
        "boroughs": [SOUTHWARK],
        "themes": ["night_time_economy"],
    }
    return services.case_study_create(actor=author, organisation=org, **{**defaults, **values})


def test_author_cannot_publish_own_study(org_lead, org_southwark, data_manager, org_gla) -> None:
    study = _study(org_lead, org_southwark)
    services.case_study_submit(actor=org_lead, case_study=study)
    with pytest.raises(PermissionDenied):
        services.case_study_publish(actor=org_lead, case_study=study)
    own = _study(data_manager, org_gla)
    services.case_study_submit(actor=data_manager, case_study=own)
    with pytest.raises(PermissionDenied):  # a data manager cannot review their own either
        services.case_study_publish(actor=data_manager, case_study=own)
    services.case_study_publish(actor=data_manager, case_study=study)
    study.refresh_from_db()
    assert study.status == CaseStudy.Status.PUBLISHED and study.reviewer == data_manager
    assert AuditEvent.objects.filter(action=Action.CASE_STUDY_PUBLISHED).count() == 1


def test_only_leads_and_data_managers_author(mps_analyst, org_mps) -> None:
    with pytest.raises(PermissionDenied):
        _study(mps_analyst, org_mps)


def test_visibility(client, org_lead, org_southwark, data_manager, mps_analyst, outsider,
                    liaison_a) -> None:  # fmt: skip
    study = _study(org_lead, org_southwark)
    url = reverse("programme:case_study_detail", args=[study.pk])
    login_verified(client, mps_analyst)
    assert client.get(url).status_code == 404  # a draft is the author's
    login_verified(client, data_manager)
    assert client.get(url).status_code == 404
    services.case_study_submit(actor=org_lead, case_study=study)
    assert client.get(url).status_code == 200  # in review: reviewers see it
    login_verified(client, mps_analyst)
    assert client.get(url).status_code == 404
    services.case_study_publish(actor=data_manager, case_study=study)
    for user in (mps_analyst, liaison_a):
        login_verified(client, user)
        page = client.get(url)
        assert page.status_code == 200
        assert b"<strong>licensees</strong>" in page.content
    login_verified(client, outsider)
    assert client.get(url).status_code == 404
    assert client.get(reverse("programme:case_study_list")).status_code == 404


def test_review_through_pages(client, org_lead, org_southwark, data_manager) -> None:
    study = _study(org_lead, org_southwark)
    login_verified(client, org_lead)
    client.post(reverse("programme:case_study_transition", args=[study.pk, "submit"]))
    response = client.post(reverse("programme:case_study_transition", args=[study.pk, "publish"]))
    assert response.status_code == 403
    login_verified(client, data_manager)
    client.post(
        reverse("programme:case_study_transition", args=[study.pk, "return"]),
        {"comment": "Add the outcome figures."},
    )
    study.refresh_from_db()
    assert study.status == CaseStudy.Status.DRAFT and "outcome" in study.review_comment


def test_filters_and_full_text_search(org_lead, org_southwark, data_manager, org_gla,
                                      mps_analyst) -> None:  # fmt: skip
    peckham = _study(org_lead, org_southwark)
    knife = _study(
        data_manager, org_gla, title="Knife crime near stations", summary="Transport hubs.",
        body="Stabbings fell after youth outreach at Brixton station.", boroughs=[LAMBETH],
        themes=["knife_crime", "youth"],
    )  # fmt: skip
    for study, reviewer_author in ((peckham, org_lead), (knife, data_manager)):
        services.case_study_submit(actor=reviewer_author, case_study=study)
    services.case_study_publish(actor=data_manager, case_study=peckham)
    second = UserFactory()
    MembershipFactory(user=second, organisation=org_gla, role=Membership.Role.DATA_MANAGER)
    services.case_study_publish(actor=second, case_study=knife)

    def ids(**kw):
        return {s.pk for s in selectors.case_study_search(mps_analyst, **kw)}

    assert ids() == {peckham.pk, knife.pk}
    assert ids(borough=LAMBETH) == {knife.pk}
    assert ids(theme="night_time_economy") == {peckham.pk}
    assert ids(text="stabbing") == {knife.pk}  # stemmed: "Stabbings"
    assert ids(text="licensee") == {peckham.pk}
    assert ids(text="licensee", borough=LAMBETH) == set()


def test_list_page_filters(client, org_lead, org_southwark, data_manager, mps_analyst) -> None:
    study = _study(org_lead, org_southwark)
    services.case_study_submit(actor=org_lead, case_study=study)
    services.case_study_publish(actor=data_manager, case_study=study)
    login_verified(client, mps_analyst)
    url = reverse("programme:case_study_list")
    assert study.title.encode() in client.get(url, {"q": "glass"}).content
    assert study.title.encode() not in client.get(url, {"theme": "transport"}).content


def test_images_private_and_permission_checked(client, org_lead, org_southwark, data_manager,
                                               mps_analyst) -> None:  # fmt: skip
    study = _study(org_lead, org_southwark)
    with pytest.raises(Exception, match="PNG or JPEG"):
        services.case_study_image_add(
            actor=org_lead, case_study=study,
            upload=SimpleUploadedFile("x.png", b"<html>"), alt_text="Map",
        )  # fmt: skip
    image = services.case_study_image_add(
        actor=org_lead, case_study=study, upload=SimpleUploadedFile("map.png", PNG),
        alt_text="Map of glassings",
    )  # fmt: skip
    url = reverse("programme:case_study_image", args=[study.pk, image.pk])
    login_verified(client, mps_analyst)
    assert client.get(url).status_code == 404  # draft
    login_verified(client, org_lead)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG


def test_embedded_chart_is_disclosure_controlled(
    client, data_manager, org_gla, mps_analyst, liaison_a, site_a, last_month, org_mps
) -> None:
    from incidents.models import SavedQuery
    from tests.programme.conftest import add_months, make_incidents, make_submission

    earlier = add_months(last_month, -1)
    make_incidents(make_submission(site_a, earlier), earlier, n=3)
    make_incidents(make_submission(site_a, last_month), last_month, n=12)
    saved = SavedQuery.objects.create(
        name="Southwark trend", owner=data_manager, organisation=org_gla
    )
    other = SavedQuery.objects.create(name="Not mine", owner=mps_analyst, organisation=org_mps)
    with pytest.raises(Exception, match="saved queries"):
        _study(data_manager, org_gla, chart_query=other)
    study = _study(data_manager, org_gla, chart_query=saved, chart_group_by="month")
    services.case_study_submit(actor=data_manager, case_study=study)
    second = UserFactory()
    MembershipFactory(user=second, organisation=org_gla, role=Membership.Role.DATA_MANAGER)
    services.case_study_publish(actor=second, case_study=study)

    chart = selectors.case_study_chart(study, mps_analyst)
    counts = {row["month"]: row["count"] for row in chart.results}
    assert counts[f"{earlier:%Y-%m}"] == "*"  # 3 is suppressed even for record-level viewers
    assert counts[f"{last_month:%Y-%m}"] in (
        10,
        15,
    )  # 12, perturbed by up to 4 (at least 8), rounded
    assert chart.disclosure_control["applied"] is True
    login_verified(client, mps_analyst)
    page = client.get(reverse("programme:case_study_detail", args=[study.pk]))
    assert b"Southwark trend" in page.content and b"SECRET-FREE-TEXT" not in page.content
    # The chart is drawn from the protected counts: suppressed cells are gaps, never values.
    assert b'id="case-study-chart"' in page.content
    data = page.context["chart_data"]
    plotted = dict(zip(data["labels"], data["counts"], strict=True))
    assert plotted[f"{earlier:%Y-%m}"] is None
    assert 3 not in data["counts"]
    # No data access: the chart is empty, never someone else's numbers.
    assert selectors.case_study_chart(study, liaison_a).results == []
