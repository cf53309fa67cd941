"""effective_access: grants combine per borough; memberships narrow, never widen."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.access import NO_ACCESS, effective_access, effective_access_for_users
from accounts.geography import LONDON_BOROUGHS
from accounts.models import AccessGrant, Membership, User
from tests.factories import AccessGrantFactory, MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db
SOUTHWARK, LAMBETH, CAMDEN = "E09000028", "E09000022", "E09000007"
Level, Precision = AccessGrant.Level, AccessGrant.Precision


def test_record_pan_london_grant(mps_analyst):
    access = effective_access(mps_analyst)
    assert access.has_data_access and access.pan_london and access.record_level
    assert access.download_allowed and access.free_text_visible
    assert access.location_precision == Precision.EXACT
    assert access.level == Level.RECORD


def test_borough_grant_limits_geography(southwark_analyst, grant_southwark):
    access = effective_access(southwark_analyst)
    assert access.boroughs == {SOUTHWARK}
    assert access.record_boroughs == {SOUTHWARK}
    assert not access.pan_london
    assert access.precision_for(SOUTHWARK) == Precision.SNAPPED
    assert access.precision_for(LAMBETH) is None
    assert access.grant_ids == (grant_southwark.pk,)


def test_aggregate_grant_never_gives_points_or_text(aggregate_user):
    access = effective_access(aggregate_user)
    assert access.pan_london and not access.record_level and not access.any_record_level
    assert access.level == Level.AGGREGATE
    assert not access.free_text_visible
    assert access.location_precision == Precision.LSOA
    assert access.level_for(SOUTHWARK) == Level.AGGREGATE


def test_record_in_one_borough_plus_aggregate_elsewhere_is_not_record_everywhere():
    membership = MembershipFactory()
    org = membership.organisation
    AccessGrantFactory(organisation=org, pan_london=False, boroughs=[SOUTHWARK])
    AccessGrantFactory(
        organisation=org, level=Level.AGGREGATE, download_allowed=False, free_text_visible=False
    )
    access = effective_access(membership.user)
    assert access.pan_london
    assert access.record_boroughs == {SOUTHWARK}
    # The summary flags are conservative: true only where they hold in every borough.
    assert not access.record_level and access.level == "mixed"
    assert not access.download_allowed and access.download_boroughs == {SOUTHWARK}
    assert access.level_for(SOUTHWARK) == Level.RECORD
    assert access.level_for(CAMDEN) == Level.AGGREGATE
    assert access.precision_for(CAMDEN) is None
    assert access.location_precision == Precision.LSOA


def test_most_precise_grant_wins_within_a_borough():
    membership = MembershipFactory()
    org = membership.organisation
    AccessGrantFactory(organisation=org, location_precision=Precision.LSOA)
    AccessGrantFactory(
        organisation=org, pan_london=False, boroughs=[LAMBETH], location_precision=Precision.EXACT
    )
    access = effective_access(membership.user)
    assert access.precision_for(LAMBETH) == Precision.EXACT
    assert access.precision_for(SOUTHWARK) == Precision.LSOA
    assert access.location_precision == Precision.LSOA


@pytest.mark.parametrize(
    ("narrowing", "expect"),
    [
        ({"narrowed_boroughs": [SOUTHWARK]}, {"boroughs": {SOUTHWARK}, "record": True}),
        ({"narrowed_to_aggregate": True}, {"boroughs": set(LONDON_BOROUGHS), "record": False}),
        ({"narrowed_no_download": True}, {"download": False}),
        ({"narrowed_no_free_text": True}, {"free_text": False}),
    ],
)
def test_membership_narrowing(narrowing, expect):
    membership = MembershipFactory(**narrowing)
    AccessGrantFactory(organisation=membership.organisation)
    access = effective_access(membership.user)
    if "boroughs" in expect:
        assert access.boroughs == expect["boroughs"]
    if "record" in expect:
        assert access.record_level is expect["record"]
        assert access.free_text_visible is expect["record"]
    if "download" in expect:
        assert access.download_allowed is expect["download"]
    if "free_text" in expect:
        assert access.free_text_visible is expect["free_text"] and access.record_level


def test_narrowing_cannot_widen_beyond_the_grant():
    membership = MembershipFactory(narrowed_boroughs=[SOUTHWARK, CAMDEN])
    AccessGrantFactory(organisation=membership.organisation, pan_london=False, boroughs=[LAMBETH])
    assert effective_access(membership.user) == NO_ACCESS


def test_narrowing_applies_per_membership_not_across_organisations():
    user = MembershipFactory(narrowed_to_aggregate=True).user
    narrowed_org = user.memberships.get().organisation
    AccessGrantFactory(organisation=narrowed_org)
    other = MembershipFactory(user=user).organisation
    AccessGrantFactory(organisation=other, pan_london=False, boroughs=[CAMDEN])
    access = effective_access(user)
    assert access.record_boroughs == {CAMDEN}
    assert access.pan_london


@pytest.mark.parametrize(
    "grant_kwargs",
    [
        {"revoked_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
        {
            "valid_from": timezone.localdate() - dt.timedelta(days=60),
            "valid_until": timezone.localdate() - dt.timedelta(days=1),
        },
        {"valid_from": timezone.localdate() + dt.timedelta(days=1)},
    ],
    ids=["revoked", "ended", "not-started"],
)
def test_inactive_grants_give_nothing(grant_kwargs):
    membership = MembershipFactory()
    if "valid_from" in grant_kwargs and "valid_until" not in grant_kwargs:
        grant_kwargs["valid_until"] = grant_kwargs["valid_from"] + dt.timedelta(days=30)
    AccessGrantFactory(organisation=membership.organisation, **grant_kwargs)
    assert effective_access(membership.user) == NO_ACCESS


def test_grant_ending_today_still_counts():
    membership = MembershipFactory()
    AccessGrantFactory(organisation=membership.organisation, valid_until=timezone.localdate())
    assert effective_access(membership.user).has_data_access


@pytest.mark.parametrize(
    "change",
    [
        {"user": {"status": User.Status.DEACTIVATED}},
        {"user": {"is_active": False}},
        {"user": {"status": User.Status.INVITED, "is_active": False}},
        {"membership": {"is_active": False}},
        {"membership": {"role": Membership.Role.LIAISON}},
        {"membership": {"role": Membership.Role.ACCESS_ADMIN}},
        {"organisation": {"is_active": False}},
    ],
)
def test_no_access_without_an_active_data_role(change):
    membership = MembershipFactory()
    AccessGrantFactory(organisation=membership.organisation)
    for attr, values in change.items():
        target = {
            "user": membership.user,
            "membership": membership,
            "organisation": membership.organisation,
        }[attr]
        for key, value in values.items():
            setattr(target, key, value)
        target.save()
    user = User.objects.get(pk=membership.user_id)
    assert effective_access(user) == NO_ACCESS


def test_outsider_has_no_access(outsider):
    assert effective_access(outsider) == NO_ACCESS
    assert effective_access(outsider).summary() == "No access to incident data"


def test_bulk_matches_single_and_uses_two_queries(
    django_assert_num_queries, southwark_analyst, mps_analyst, aggregate_user, outsider
):
    users = [southwark_analyst, mps_analyst, aggregate_user, outsider]
    with django_assert_num_queries(2):
        bulk = effective_access_for_users(users)
    for user in users:
        assert bulk[user.pk] == effective_access(user)


def test_summary_reads_plainly(southwark_analyst, mps_analyst, aggregate_user):
    assert effective_access(southwark_analyst).summary().startswith("Record level: Southwark")
    assert effective_access(mps_analyst).summary() == (
        "Record level: all of London (downloads, free text)"
    )
    assert effective_access(aggregate_user).summary().startswith("Aggregate only: all of London")


def test_organisation_kind_does_not_matter_only_grants():
    org = OrganisationFactory(kind="vru")
    membership = MembershipFactory(organisation=org)
    assert effective_access(membership.user) == NO_ACCESS
