"""The shared filter set builds plain queries: no DISTINCT sort over the whole result."""

import pytest

from incidents.filters import IncidentFilterSet

pytestmark = pytest.mark.django_db


def test_multi_value_filters_do_not_make_the_query_distinct(mps_analyst):
    fs = IncidentFilterSet(
        {"borough": ["E09000028", "E09000022"], "weekday": ["6", "7"]},
        user=mps_analyst,
        records=True,
    )
    assert fs.is_valid(), fs.errors
    assert not fs.qs.query.distinct
    assert "DISTINCT" not in str(fs.qs.query).upper()
