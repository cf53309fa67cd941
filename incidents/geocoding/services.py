"""Writes for the review queue: queueing results and recording a reviewer's decision."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit.models import Action
from accounts.audit.services import audit_record
from accounts.models import User
from incidents.geocoding import classify
from incidents.geocoding.geocoder import PLACE, GeocodeResult
from incidents.geocoding.models import LearnedAlias, ReviewItem
from incidents.geocoding.service import refresh_aliases
from incidents.geocoding.signals import alias_learned

# Results under this confidence, or with a rival candidate, go to the review queue.
REVIEW_CONFIDENCE = 0.6
DECISIONS = ("accept", "point", classify.HOME, classify.VAGUE, classify.UNKNOWN)


def needs_review(result: GeocodeResult) -> bool:
    """Worth a human look: a weak or contested point, or text nothing matched."""
    if result.method == "learned_alias":
        return False
    if result.result_class == PLACE:
        return result.confidence < REVIEW_CONFIDENCE or bool(result.alternatives)
    return result.result_class == classify.UNKNOWN and result.method not in {"none", "rule"}


@transaction.atomic
def review_items_record(*, results: Iterable[tuple[GeocodeResult, str]]) -> int:
    """Queue (result, hospital) pairs that need review; repeats bump ``occurrences``."""
    queued = 0
    for result, hospital in results:
        if not needs_review(result) or not result.normalised:
            continue
        item, created = ReviewItem.objects.get_or_create(
            phrase=result.normalised[:300],
            hospital=hospital or "",
            defaults={"text": result.text[:500], "result": result.to_dict()},
        )
        if not created and item.status == ReviewItem.Status.OPEN:
            ReviewItem.objects.filter(pk=item.pk).update(
                occurrences=F("occurrences") + 1, result=result.to_dict()
            )
        queued += 1
    return queued


@transaction.atomic
def review_item_decide(
    *,
    actor: User,
    item: ReviewItem,
    decision: str,
    candidate: int | None = None,
    lat: float | None = None,
    lon: float | None = None,
    request: HttpRequest | None = None,
) -> LearnedAlias:
    """Record a decision: a learned alias for the phrase at the hospital, audited."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    label = decision
    result_class = decision
    if decision == "accept":
        candidates = review_candidates(item.result)
        if candidate is None or not 0 <= candidate < len(candidates):
            raise ValueError("choose one of the candidates")
        chosen = candidates[candidate]
        lat, lon, label, result_class = chosen["lat"], chosen["lon"], chosen["name"], PLACE
    elif decision == "point":
        if lat is None or lon is None or not (50.5 <= lat <= 52.5 and -1.5 <= lon <= 1.5):
            raise ValueError("give a latitude and longitude in or near London")
        label, result_class = f"point {lat:.5f},{lon:.5f}", PLACE
    else:
        lat = lon = None
    alias, _ = LearnedAlias.objects.update_or_create(
        phrase=item.phrase,
        hospital=item.hospital,
        defaults={
            "result_class": result_class,
            "lat": lat,
            "lon": lon,
            "label": label[:200],
            "created_by": actor,
            "created_at": timezone.now(),
        },
    )
    item.status = ReviewItem.Status.DECIDED
    item.decided_at = timezone.now()
    item.decided_by = actor
    item.alias = alias
    item.save(update_fields=["status", "decided_at", "decided_by", "alias"])
    # The submission journey re-geocodes the incident rows that used the phrase, inside
    # this transaction; the geocoder itself knows nothing of incident rows.
    updated = sum(
        int(rows or 0) for _, rows in alias_learned.send(sender=LearnedAlias, alias=alias)
    )
    # The phrase itself can hold personal details: the audit keeps ids and the outcome only.
    audit_record(
        action=Action.GEOCODE_CORRECTED,
        actor=actor,
        obj=item,
        details={
            "decision": decision,
            "result_class": result_class,
            "hospital": item.hospital,
            "alias_id": alias.pk,
            "incidents_updated": updated,
            "previous_class": item.result.get("class"),
        },
        request=request,
    )
    transaction.on_commit(refresh_aliases)
    return alias


def review_candidates(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The proposed point (if any) followed by the alternatives, as name/kind/lat/lon."""
    out = []
    if result.get("lat") is not None:
        out.append(
            {
                "name": result.get("matched") or "proposed point",
                "kind": "proposed",
                "lat": result["lat"],
                "lon": result["lon"],
            }
        )
    for alt in result.get("alternatives") or []:
        out.append({"name": alt["name"], "kind": alt["kind"], "lat": alt["lat"], "lon": alt["lon"]})
    return out
