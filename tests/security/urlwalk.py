"""Walk the URL resolver: every named route with sample arguments, for policy tests."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern, RoutePattern

_SAMPLES: dict[str, str] = {
    "int": "999999",
    "uuid": str(uuid.UUID(int=0x5EED)),
    "slug": "sample",
    "str": "sample",
    "path": "sample",
}


_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>([^)]*)\)")


@dataclass(frozen=True)
class NamedRoute:
    name: str  # with namespace, e.g. "admin:index"
    path: str  # a concrete path built with sample arguments

    @property
    def takes_arguments(self) -> bool:
        return any(sample in self.path for sample in ("999999", "sample", _SAMPLES["uuid"]))


def _sample_kwargs(pattern: object) -> dict[str, str]:
    if isinstance(pattern, RoutePattern):
        converters = pattern.converters
        kwargs = {}
        for key, converter in converters.items():
            kind = type(converter).__name__.replace("Converter", "").lower()
            kwargs[key] = _SAMPLES.get(kind, "sample")
        return kwargs
    if isinstance(pattern, RegexPattern):
        # A group that is a list of literal alternatives (the admin's app_label) gets its
        # first alternative; any other group gets "1", which the project's patterns accept.
        kwargs = {}
        for key, body in _NAMED_GROUP.findall(pattern._regex):
            first = body.split("|")[0]
            kwargs[key] = first if "|" in body and re.fullmatch(r"[\w-]+", first) else "1"
        return kwargs
    return {}


def _walk(
    resolvers: list[URLPattern | URLResolver], namespace: str, kwargs: dict[str, str]
) -> list[tuple[str, dict[str, str]]]:
    found: list[tuple[str, dict[str, str]]] = []
    for entry in resolvers:
        here = {**kwargs, **_sample_kwargs(entry.pattern)}
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found.extend(_walk(entry.url_patterns, ns, here))
        elif entry.name:
            found.append((f"{namespace}{entry.name}", here))
    return found


def named_routes() -> list[NamedRoute]:
    """Every named route reversed with sample arguments; unreversable ones raise."""
    routes: dict[str, NamedRoute] = {}
    for name, kwargs in _walk(get_resolver().url_patterns, "", {}):
        if name in routes:
            continue
        try:
            path = reverse(name, kwargs=kwargs) if kwargs else reverse(name)
        except NoReverseMatch as exc:
            raise AssertionError(f"Cannot build a sample URL for {name!r}: {exc}") from exc
        routes[name] = NamedRoute(name=name, path=path)
    return sorted(routes.values(), key=lambda r: r.name)
