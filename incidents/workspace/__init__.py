"""Scoped reads behind the workspace pages (dashboard, explore, charts, map, transparency).

Everything here starts from the one filter set (``incidents.filters.IncidentFilterSet``),
which itself starts from the one scoping door (``incidents.selectors.visible_to``), and
counts through ``incidents.aggregates.aggregate_counts`` so that aggregate-level users
get disclosure control exactly as on the API. Record rows are masked per grant by
``incidents.masking.Masker`` before any page sees them.
"""
