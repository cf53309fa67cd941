"""Code and area labels for the workspace pages."""

from __future__ import annotations

from collections import defaultdict

from accounts.geography import LONDON_BOROUGHS
from incidents.models import HarmonisedCode

# --- code labels --------------------------------------------------------------------------


def code_labels() -> dict[str, dict[str, str]]:
    """Harmonised code → label, per kind (one small query)."""
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    for kind, code, label in HarmonisedCode.objects.values_list("kind", "code", "label"):
        labels[kind][code] = label
    return dict(labels)


def code_choices(kind: str) -> list[tuple[str, str]]:
    return list(
        HarmonisedCode.objects.filter(kind=kind, is_active=True)
        .order_by("sort_order", "label")
        .values_list("code", "label")
    )


def borough_name(code: str | None) -> str:
    return LONDON_BOROUGHS.get(code or "", code or "Unknown")
