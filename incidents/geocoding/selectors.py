"""Reads for the review queue, scoped to the people allowed to review geocodes."""

from __future__ import annotations

import json

from django.db.models import QuerySet
from django.http import Http404

from accounts.audit.denials import deny
from accounts.audit.models import audit_object_type
from accounts.models import User
from accounts.roles import is_data_manager
from incidents.geocoding.models import Area, ReviewItem


def can_review(user: User) -> bool:
    """Data managers review the geocoder's uncertain answers."""
    return is_data_manager(user)


def review_queue_for(user: User) -> QuerySet[ReviewItem]:
    """Open items for a data manager; anyone else gets an audited 404, not a 403.

    Ordered by how many incidents a decision would settle (``occurrences``, most first),
    then oldest first.
    """
    if not can_review(user):
        deny(object_type=audit_object_type(ReviewItem))
    return ReviewItem.objects.filter(status=ReviewItem.Status.OPEN).order_by(
        "-occurrences", "created_at", "pk"
    )


def review_item_for(user: User, pk: int) -> ReviewItem:
    try:
        return review_queue_for(user).get(pk=pk)
    except ReviewItem.DoesNotExist as exc:
        raise Http404 from exc


def borough_boundaries_geojson() -> str:
    """All borough boundaries as one FeatureCollection (the map's base layer)."""
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": name},
            "geometry": json.loads(geometry),
        }
        for code, name, geometry in Area.objects.filter(kind=Area.Kind.BOROUGH)
        .order_by("code")
        .values_list("code", "name", "geometry")
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))
