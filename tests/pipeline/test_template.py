"""The ISTV template's layout is recognised without a mapping, and only that layout."""

from __future__ import annotations

from ingest.pipeline.template import ISTV_TEMPLATE, template_mapping
from ingest.pipeline.types import Field

HEADER = [c.header for c in ISTV_TEMPLATE]


def test_the_templates_header_maps_every_item_to_its_column() -> None:
    mapping = template_mapping(HEADER)
    assert mapping is not None
    assert dict(mapping.columns) == {c.field: c.header for c in ISTV_TEMPLATE}


def test_case_and_punctuation_do_not_matter_and_optional_columns_may_be_left_out() -> None:
    required = [c.header.upper().replace(" ", "_") for c in ISTV_TEMPLATE if c.required]
    mapping = template_mapping(required)
    assert mapping is not None
    assert set(mapping.columns) == {Field.ASSAULT_DATE, Field.METHOD, Field.LOCATION_TYPE}


def test_any_other_layout_is_not_the_template() -> None:
    assert template_mapping([*HEADER, "Ward"]) is None  # a column the template lacks
    assert template_mapping([h for h in HEADER if h != "Assault Method"]) is None  # required
    assert template_mapping([*HEADER, "assault date"]) is None  # the same column twice
    assert template_mapping([]) is None


def test_required_columns_are_the_pipelines_mandatory_items() -> None:
    assert {c.field for c in ISTV_TEMPLATE if c.required} == {
        Field.ASSAULT_DATE,
        Field.METHOD,
        Field.LOCATION_TYPE,
    }
