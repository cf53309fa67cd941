"""The one door to incident data (docs/architecture.md, "The one door").

Every read of incident rows goes through ``incidents.selectors`` (``visible_to`` with a
purpose, or a named London-wide selector), and only the submission journey's loader writes
them. So no module of the application touches the incident table's managers except those
two. A new endpoint that built its own queryset would hand out rows nobody scoped: this
test fails before it can.

The check reads the source, so an access written inside a function, or through the
model's ``_default_manager`` or ``_base_manager``, counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.architecture.test_import_cycles import ROOT, project_packages

# The modules allowed to use the incident table's managers, and why.
ALLOWED = {
    "incidents/selectors.py": "the one door and the named London-wide reads",
    "ingest/loader.py": "the submission journey writes, re-geocodes and recounts rows",
}
MODELS = {"Incident"}
MANAGERS = {"objects", "_default_manager", "_base_manager"}


def manager_uses(source: str) -> list[int]:
    """Line numbers where ``Incident.objects`` (or another manager of it) is used."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in MANAGERS
            and isinstance(node.value, ast.Name)
            and node.value.id in MODELS
        ):
            found.append(node.lineno)
    return sorted(found)


def application_modules() -> list[Path]:
    modules = []
    for package in project_packages():
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                modules.append(path)
    return modules


def test_the_check_finds_a_side_door() -> None:
    """The detector itself: it must see the forms a side door takes."""
    source = (
        "from incidents.models import Incident\n"
        "def rows():\n"
        "    a = Incident.objects.all()\n"
        "    return a, Incident._default_manager.none()\n"
    )
    assert manager_uses(source) == [3, 4]
    assert manager_uses("rows = visible_to(user, purpose=Purpose.RECORDS)\n") == []


def test_only_the_selectors_and_the_loader_touch_incident_managers() -> None:
    modules = application_modules()
    assert any(p.relative_to(ROOT).as_posix() == "incidents/selectors.py" for p in modules)
    side_doors = {
        f"{path.relative_to(ROOT).as_posix()}:{line}"
        for path in modules
        if path.relative_to(ROOT).as_posix() not in ALLOWED
        for line in manager_uses(path.read_text())
    }
    assert not side_doors, (
        "Incident rows read outside incidents/selectors.py; add a selector there instead: "
        + ", ".join(sorted(side_doors))
    )


def test_the_allowed_modules_still_use_them() -> None:
    """An allowance nothing needs any more is removed, so the list stays honest."""
    for relative in ALLOWED:
        assert manager_uses((ROOT / relative).read_text()), relative
