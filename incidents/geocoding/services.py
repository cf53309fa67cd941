"""Writes for the review queue: queueing results and recording a reviewer's decision."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit.models import Action
from accounts.audit.services import audit_record
from accounts.models import User
from incidents.geocoding import classify
from incidents.geocoding.geocoder import NO_GAZETTEER, PLACE, GeocodeResult
from incidents.geocoding.models import LearnedAlias, ReviewItem
from incidents.geocoding.service import refresh_aliases
from incidents.geocoding.signals import alias_learned

# Results under this confidence, or with a rival candidate, go to the review queue.
REVIEW_CONFIDENCE = 0.6
DECISIONS = ("accept", "point", classify.HOME, classify.VAGUE, classify.UNKNOWN)
# Phrases per INSERT when queueing (7 bound values each, well under PostgreSQL's limit).
_UPSERT_BATCH = 1000


def needs_review(result: GeocodeResult) -> bool:
    """Worth a human look: a weak or contested point, or text nothing matched.

    Not: a learned alias (already decided), a rule's answer (``n/k``, home, vague, chain,
    abroad, outside London), or an answer given without a gazetteer (nothing to decide
    against; those rows are stored pending and retried).
    """
    if result.method == "learned_alias":
        return False
    if result.result_class == PLACE:
        return result.confidence < REVIEW_CONFIDENCE or bool(result.alternatives)
    return (
        result.result_class == classify.UNKNOWN
        and result.method != "rule"
        and result.explanation != NO_GAZETTEER
    )


# No savepoint of its own: its one statement per batch either all commits with the
# caller's transaction or fails it (two fewer round trips per stored file).
@transaction.atomic(savepoint=False)
def review_items_record(*, results: Iterable[tuple[GeocodeResult, str]]) -> int:
    """Queue the (result, hospital) pairs that need review; returns how many were queued.

    Each pair is one incident: callers pass one pair per incident row (a phrase used 40
    times in a file is 40 pairs), so ``occurrences`` counts the incidents a decision on
    the phrase at that hospital would settle, and the queue is ordered by it. Pairs are
    grouped by (normalised phrase, hospital) first, so one call writes each item once.
    A phrase already decided is not reopened or counted (its next results come from the
    learned alias and are never queued).

    The phrase is the geocoder's normalised text and ``text`` one original wording: the
    callers pass results for stored incident descriptions, which the personal-data guard
    has already redacted, and only data managers see the queue.
    """
    grouped: dict[tuple[str, str], tuple[GeocodeResult, int]] = {}
    for result, hospital in results:
        if not needs_review(result) or not result.normalised:
            continue
        key = (result.normalised[:300], hospital or "")
        _, count = grouped.get(key, (result, 0))
        grouped[key] = (result, count + 1)
    if not grouped:
        return 0
    # One statement per call: new phrases are inserted, open ones gain the new count, a
    # decided one is left alone. Atomic against another file queueing the same phrase at
    # the same moment (the unique (phrase, hospital) constraint arbitrates); rows in key
    # order, so two such statements lock in the same order.
    keys = sorted(grouped)
    now = timezone.now()
    table = connection.ops.quote_name(ReviewItem._meta.db_table)
    queued = 0
    for start in range(0, len(keys), _UPSERT_BATCH):
        batch = keys[start : start + _UPSERT_BATCH]
        params: list[Any] = []
        for phrase, hospital in batch:
            result, count = grouped[(phrase, hospital)]
            params += [phrase, hospital, result.text[:500], json.dumps(result.to_dict())]
            params += [ReviewItem.Status.OPEN.value, count, now]
        values = ", ".join(["(%s, %s, %s, %s::jsonb, %s, %s, %s)"] * len(batch))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} "  # noqa: S608 - table name from model meta, values bound
                "(phrase, hospital, text, result, status, occurrences, created_at) "
                f"VALUES {values} "
                "ON CONFLICT (phrase, hospital) DO UPDATE SET "
                f"occurrences = {table}.occurrences + EXCLUDED.occurrences, "
                "result = EXCLUDED.result "
                f"WHERE {table}.status = %s "
                "RETURNING phrase, hospital",
                [*params, ReviewItem.Status.OPEN.value],
            )
            queued += sum(grouped[(p, h)][1] for p, h in cursor.fetchall())
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
