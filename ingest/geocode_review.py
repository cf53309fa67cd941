"""The geocode review queue's effect on stored incidents.

When a reviewer decides a phrase (``incidents.geocoding.services.review_item_decide``), the
geocoder learns an alias and sends ``alias_learned``. The receiver here re-geocodes the
incident rows that used the phrase, inside the decision's transaction, and returns how many
it updated; ``IngestConfig.ready`` connects it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from incidents.geocoding.models import LearnedAlias
from incidents.geocoding.normalise import normalise_query
from incidents.geocoding.service import get_geocoder, refresh_aliases
from incidents.workspace.cache import incident_rows_changed
from ingest import loader
from ingest.enrichment import geocode_columns


def incidents_regeocode_for_alias(*, alias: LearnedAlias, **kwargs: Any) -> int:
    """Re-geocode the incident rows that used ``alias.phrase`` at ``alias.hospital`` (any
    hospital when blank); returns the rows updated.

    Each distinct (hospital, description, location type) whose description normalises to
    the phrase is geocoded once more, now that the alias exists, and its rows updated.
    """
    refresh_aliases()  # this process's geocoder sees the alias saved in this transaction
    geocoder = get_geocoder()
    rows = loader.incidents_at_site(alias.hospital or None)
    # ``order_by()``: the model's ordering would otherwise join the DISTINCT and repeat
    # a description once per row (each repeat updating, and counting, its rows again).
    used = (
        rows.order_by()
        .values_list("site__site_code", "location_description", "location_type_code")
        .distinct()
    )
    updated = 0
    for site_code, description, location_type in used:
        if normalise_query(description) != alias.phrase:
            continue
        columns = geocode_columns(geocoder.geocode(description, site_code, location_type))
        updated += rows.filter(
            site__site_code=site_code,
            location_description=description,
            location_type_code=location_type,
        ).update(geocode_status=columns.status, **columns.fields)
    if updated:
        transaction.on_commit(incident_rows_changed)
    return updated
