"""The geocoder: free-text assault location → typed, explained result.

Cascade: learned alias → unknown / home / abroad classes → full postcode
→ junction of two streets → named place (station, hospital, pub, bus stop) or street, with
locality words and postcode districts as context → postcode sector / district → area name
→ chain-without-place / outside London / vague / unknown. Every step is a dictionary probe
on the in-memory :class:`~incidents.geocoding.gazetteer.Gazetteer`; results are cached per
process on (normalised text, hospital, location type), so the answer is deterministic.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np
from pyproj import Transformer
from rapidfuzz import process
from rapidfuzz.distance import OSA

from incidents.geocoding import classify
from incidents.geocoding.gazetteer import Entry, Gazetteer, metres
from incidents.geocoding.normalise import normalise_query
from incidents.geocoding.postcodes import PostcodeHit, find_postcodes

_TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)

PLACE = "place"
PRECISIONS = (
    "postcode_unit",
    "venue",
    "street",
    "junction",
    "postcode_sector",
    "postcode_district",
    "area",
)
# Below this a name match is more likely wrong than useful: leave it unplaced, keep the
# alternatives. Calibrated on the dev split: every placement under 0.5 there was > 250 m off.
MIN_PLACE_CONFIDENCE = 0.5
# Two candidates closer than this are "the same place" for ambiguity purposes.
SAME_PLACE_M = 500.0
JUNCTION_MAX_GAP_M = 300.0
MAX_NGRAM = 7
# Same-length spans: a cued station ("X stn") or hospital beats a street of the same name;
# an uncued station or a bus stop named after a road loses to the street.
_KIND_RANK = {
    "hospital": 0,
    "station_cue": 1,
    "landmark": 2,
    "pub": 3,
    "street": 4,
    "station": 5,
    "bus_stop": 6,
}
# Misspelt cue words are corrected before the gazetteer vocabulary is consulted.
_CUE_WORDS = {
    "station": "stn",
    "junction": "junction",
    "corner": "corner",
    "street": "st",
    "road": "rd",
    "avenue": "ave",
    "hospital": "hosp",
    "outside": "outside",
    "crescent": "cres",
    "gardens": "gdns",
    "between": "between",
}
_HOSPITAL_CUES = {"hosp", "ae", "a", "ed", "car", "emergency", "utc", "ucc"}
_LEADING_NOISE = {"outside", "the", "at", "on", "near", "opposite", "in", "by", "of"}
_KIND_BASE = {
    "hospital": 0.9,
    "station": 0.85,
    "landmark": 0.8,
    "pub": 0.8,
    "bus_stop": 0.75,
    "street": 0.75,
}
_HOME_LOCATION_TYPES = {"home", "private", "private dwelling", "dwelling", "residence", "house"}
_JUNCTION = re.compile(
    r"(?:^|\s)(?:junction|corner|crossroads?|x ?roads)\s+(?:of\s+|between\s+|with\s+)?"
    r"(?P<a>.+?)\s+(?:and|with|/)\s+(?P<b>.+)$"
)
_JUNCTION_INFIX = re.compile(r"^(?P<a>.+?)\s+(?:/|junction with|junction)\s+(?P<b>.+)$")
_STREET_SUFFIXES = ("st", "rd", "ave", "ln")


class AlternativeJSON(TypedDict):
    name: str
    kind: str
    lat: float
    lon: float
    borough: str


# ``GeocodeResult.to_dict()``; functional form, since one key is ``class``.
GeocodeResultJSON = TypedDict(
    "GeocodeResultJSON",
    {
        "text": str,
        "class": str,
        "lat": float | None,
        "lon": float | None,
        "easting": float | None,
        "northing": float | None,
        "precision": str | None,
        "confidence": float,
        "method": str,
        "matched": str,
        "lsoa": str | None,
        "ward": str | None,
        "borough": str | None,
        "alternatives": list[AlternativeJSON],
        "explanation": str,
    },
)


@dataclass(frozen=True)
class Alternative:
    name: str
    kind: str
    lat: float
    lon: float
    borough: str = ""

    def to_dict(self) -> AlternativeJSON:
        return {
            "name": self.name,
            "kind": self.kind,
            "lat": self.lat,
            "lon": self.lon,
            "borough": self.borough,
        }


# The explanation of every answer given without a gazetteer (nothing could be matched).
NO_GAZETTEER = "no gazetteer loaded"


@dataclass(frozen=True)
class GeocodeResult:
    """One answer. ``lat``/``lon`` are None unless ``result_class`` is "place"."""

    text: str
    result_class: str
    normalised: str = ""
    lat: float | None = None
    lon: float | None = None
    easting: float | None = None
    northing: float | None = None
    precision: str | None = None
    confidence: float = 0.0
    method: str = ""
    matched: str = ""
    alternatives: tuple[Alternative, ...] = ()
    lsoa: str = ""
    ward: str = ""
    borough: str = ""
    explanation: str = ""

    @property
    def placed(self) -> bool:
        return self.lat is not None

    def to_dict(self) -> GeocodeResultJSON:
        """The JSON shape used by ``manage.py geocode --json`` and the review queue."""
        return {
            "text": self.text,
            "class": self.result_class,
            "lat": self.lat,
            "lon": self.lon,
            "easting": self.easting,
            "northing": self.northing,
            "precision": self.precision,
            "confidence": self.confidence,
            "method": self.method,
            "matched": self.matched,
            "lsoa": self.lsoa or None,
            "ward": self.ward or None,
            "borough": self.borough or None,
            "alternatives": [a.to_dict() for a in self.alternatives],
            "explanation": self.explanation,
        }


@dataclass(frozen=True)
class AliasTarget:
    """A learned alias: a reviewer's answer for a phrase at a hospital."""

    result_class: str
    lat: float | None
    lon: float | None
    label: str


@dataclass
class _Span:
    start: int
    end: int
    key: str
    kind: str
    entries: list[Entry]
    cue: bool = False

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass
class _Context:
    points: list[tuple[float, float]] = field(default_factory=list)
    boroughs: set[str] = field(default_factory=set)
    words: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.points or self.boroughs)


class Geocoder:
    """Stateless over a built gazetteer, apart from its caches. One per process."""

    def __init__(
        self,
        gazetteer: Gazetteer,
        aliases: Mapping[tuple[str, str], AliasTarget] | None = None,
        *,
        cache_size: int = 200_000,
    ) -> None:
        self.gz = gazetteer
        self.aliases: dict[tuple[str, str], AliasTarget] = dict(aliases or {})
        self.cache_size = cache_size
        self._cache: dict[tuple[str, str, str], GeocodeResult] = {}
        # Answers shared with other processes (``phrase_cache.SharedPhraseCache``: any
        # object with ``get_many(keys)`` and ``set_many(pairs)``), consulted by
        # ``geocode_many`` for what this process has not worked out yet; None = none.
        self.shared: Any = None
        self._typo_cache: dict[str, list[str]] = {}
        self._point_memo: dict[tuple[float, float], tuple[str, str, str, float, float]] = {}
        self._buckets: dict[tuple[str, int], list[str]] = {}
        for tok in sorted(gazetteer.vocabulary, key=lambda t: (-gazetteer.vocabulary[t], t)):
            if len(tok) >= 4 and tok.isalpha():
                self._buckets.setdefault((tok[0], len(tok)), []).append(tok)

    # --- public API ---------------------------------------------------------------------

    def clear_cache(self) -> None:
        self._cache.clear()

    def set_alias(self, phrase: str, hospital: str, target: AliasTarget) -> None:
        self.aliases[(phrase, hospital)] = target
        self._cache.clear()
        self.shared = None  # shared answers are keyed by the aliases this no longer matches

    def geocode(
        self, text: str, hospital: str | None = None, location_type: str | None = None
    ) -> GeocodeResult:
        return self._answer(text, self._key(text, hospital, location_type))

    def geocode_many(self, items: Iterable[Any]) -> list[GeocodeResult]:
        """Items are strings, (text, hospital[, location_type]) tuples or dicts with
        ``text``/``hospital``/``location_type``. Distinct phrases are resolved once."""
        calls: list[tuple[str, tuple[str, str, str]]] = []
        for item in items:
            if isinstance(item, str):
                text, hospital, location_type = item, None, None
            elif isinstance(item, Mapping):
                text = str(item.get("text") or "")
                hospital, location_type = item.get("hospital"), item.get("location_type")
            else:
                parts = (*item, None, None)
                text, hospital, location_type = parts[0], parts[1], parts[2]
            calls.append((text, self._key(text, hospital, location_type)))
        if self.shared is not None:
            self._fill_from_shared(calls)
        return [self._answer(text, key) for text, key in calls]

    @staticmethod
    def _key(text: str, hospital: str | None, location_type: str | None) -> tuple[str, str, str]:
        """(normalised text, hospital, location type): what an answer depends on."""
        return normalise_query(text or ""), hospital or "", (location_type or "").strip().lower()

    def _answer(self, text: str, key: tuple[str, str, str]) -> GeocodeResult:
        cached = self._cache.get(key)
        if cached is None:
            cached = self._resolve(text or "", *key)
            self._remember(key, cached)
        return cached if cached.text == text else dataclasses.replace(cached, text=text)

    def _remember(self, key: tuple[str, str, str], result: GeocodeResult) -> None:
        if len(self._cache) >= self.cache_size:
            self._cache.clear()
        self._cache[key] = result

    def _fill_from_shared(self, calls: list[tuple[str, tuple[str, str, str]]]) -> None:
        """Take the answers other processes already worked out for the phrases this one
        has not, and share the ones it works out now: one read and one write per batch."""
        missing: dict[tuple[str, str, str], str] = {}
        for text, key in calls:
            if key not in self._cache:
                missing.setdefault(key, text or "")
        if not missing:
            return
        found = self.shared.get_many(list(missing))
        decided = []
        for key, text in missing.items():
            result = found.get(key)
            if result is None:
                result = self._resolve(text, *key)
                decided.append((key, result))
            self._remember(key, result)
        if decided:
            self.shared.set_many(decided)

    # --- the cascade --------------------------------------------------------------------

    def _resolve(self, text: str, norm: str, hospital: str, location_type: str) -> GeocodeResult:
        base = GeocodeResult(text=text, result_class=classify.UNKNOWN, normalised=norm)
        if self.gz.is_empty:
            return dataclasses.replace(base, method="none", explanation=NO_GAZETTEER)
        alias = self.aliases.get((norm, hospital)) or self.aliases.get((norm, ""))
        if alias is not None:
            return self._from_alias(base, alias, hospital)
        if location_type in _HOME_LOCATION_TYPES:
            return self._unplaced(base, classify.HOME, "location_type", "location type says home")
        if classify.is_unknown(norm):
            return self._unplaced(
                base, classify.UNKNOWN, "rule", "description says unknown / empty"
            )
        if classify.is_home(norm):
            return self._unplaced(
                base,
                classify.HOME,
                "rule",
                "private dwelling (home, flat, house, address): never placed",
            )
        hits = find_postcodes(
            text, units=self.gz.units, sectors=self.gz.sectors, districts=self.gz.districts
        )
        unit = next((h for h in hits if h.level == "unit"), None)
        if unit is not None:
            return self._postcode_unit(base, unit)
        if classify.is_abroad(norm):
            return self._unplaced(base, classify.ABROAD, "rule", "outside the UK")

        tokens, typos = self._tokens(norm)
        hosp_point = self.gz.hospitals.get(hospital) if hospital else None
        junction = self._junction(base, norm, hosp_point, typos)
        if junction is not None:
            return junction
        spans = self._spans(tokens)
        primary = self._primary(spans, tokens)
        context = self._context(spans, primary, hits)
        if primary is not None:
            result = self._place(base, primary, context, hosp_point, typos)
            if result is not None:
                return result
        for hit in hits:
            return self._postcode_area(base, hit)
        localities = [s for s in spans if s.kind == "locality"]
        if localities:
            best = max(localities, key=lambda s: (s.length, -s.start))
            entry = self._nearest(best.entries, hosp_point)
            return self._placed(
                base,
                entry.lat,
                entry.lon,
                precision="area",
                confidence=0.3,
                method="area_name",
                matched=f"area: {entry.name}",
                explanation=f"only an area name ('{best.key}') found",
            )
        chain = classify.chain_name(norm)
        if chain:
            return self._unplaced(
                base, classify.CHAIN, "rule", f"chain '{chain}' without a street or area"
            )
        if classify.is_outside_london(norm):
            return self._unplaced(base, classify.OUTSIDE_LONDON, "rule", "a place outside London")
        if classify.is_vague(norm.replace("/", " ").split()):
            return self._unplaced(base, classify.VAGUE, "rule", "a kind of place, not a place")
        return self._unplaced(base, classify.UNKNOWN, "none", "no gazetteer entry matched")

    # --- stages -------------------------------------------------------------------------

    def _tokens(self, norm: str) -> tuple[list[str], int]:
        """Tokens with typos corrected against the gazetteer vocabulary.

        When several vocabulary words are equally close, the one that forms a gazetteer
        name with a neighbouring word wins ("hxton stn" → "hoxton", not "heton").
        """
        raw = [t for t in norm.split() if t != "/"]
        tokens, typos = list(raw), 0
        for i, tok in enumerate(raw):
            options = self._correct(tok)
            if not options or options[0] == tok:
                continue
            choice = options[0]
            if len(options) > 1:
                prev = tokens[i - 1] if i else ""
                nxt = raw[i + 1] if i + 1 < len(raw) else ""
                for cand in options:
                    keys = (
                        f"{cand} {nxt}",
                        f"{prev} {cand}",
                        f"{cand} {nxt} {raw[i + 2]}" if i + 2 < len(raw) else cand,
                    )
                    if any(k in self.gz.places or k in self.gz.streets for k in keys):
                        choice = cand
                        break
            tokens[i] = choice
            typos += 1
        return tokens, typos

    def _correct(self, tok: str) -> list[str]:
        """Equally-close vocabulary words for an unknown token (OSA distance ≤ 1, or ≤ 2
        from 8 letters), most frequent first; ``[tok]`` when it is known or too short."""
        if (
            len(tok) < 5
            or not tok.isalpha()
            or tok in self.gz.vocabulary
            or tok in classify.GENERIC
        ):
            return [tok]
        cached = self._typo_cache.get(tok)
        if cached is not None:
            return cached
        limit = 1 if len(tok) < 8 else 2
        for word, canonical in _CUE_WORDS.items():
            if OSA.distance(tok, word, score_cutoff=limit) <= limit:
                self._typo_cache[tok] = [canonical]
                return [canonical]
        found: list[tuple[int, int, str]] = []
        for length in range(len(tok) - limit, len(tok) + limit + 1):
            bucket = self._buckets.get((tok[0], length))
            if not bucket:
                continue
            for word, dist, _index in process.extract(
                tok, bucket, scorer=OSA.distance, score_cutoff=limit, limit=5
            ):
                found.append((int(dist), -self.gz.vocabulary[word], word))
        found.sort()
        best = [w for d, _f, w in found if d == found[0][0]][:5] if found else [tok]
        self._typo_cache[tok] = best
        return best

    def _spans(self, tokens: list[str]) -> list[_Span]:
        spans: list[_Span] = []
        n = len(tokens)
        prefixes = self.gz.prefixes
        for i in range(n):
            key = ""
            for j in range(i + 1, min(n, i + MAX_NGRAM) + 1):
                key = f"{key} {tokens[j - 1]}" if key else tokens[i]
                after = tokens[j] if j < n else ""
                before = tokens[i - 1] if i else ""
                places = self.gz.places.get(key)
                if places:
                    kind = min((e.kind for e in places), key=lambda k: _KIND_RANK.get(k, 9))
                    # Same-name entries of other kinds (stops called after a station) are not
                    # rivals of the station itself.
                    places = [e for e in places if e.kind == kind]
                    cue = (
                        (kind == "station" and after == "stn")
                        or (kind == "pub" and (after == "pub" or before in {"pub", "the"}))
                        or (kind == "bus_stop" and before == "stop")
                        or kind == "hospital"
                    )
                    spans.append(_Span(i, j, key, kind, places, cue))
                short = self.gz.hospital_short.get(key)
                if short and after in _HOSPITAL_CUES:
                    spans.append(_Span(i, j, key, "hospital", short, True))
                streets = self.gz.streets.get(key)
                if streets:
                    spans.append(_Span(i, j, key, "street", streets))
                localities = self.gz.localities.get(key)
                if localities:
                    spans.append(_Span(i, j, key, "locality", localities))
                if key not in prefixes:
                    break
        return spans

    @staticmethod
    def _acceptable(span: _Span, tokens: list[str]) -> bool:
        """Filter out spans too generic to stand alone ("the crown", "station rd")."""
        words = tokens[span.start : span.end]
        specific = [w for w in words if w not in classify.GENERIC]
        if span.kind == "hospital":
            return True
        if span.kind == "locality":
            return False
        if not specific:
            # "High Street", "Station Road": real street names made of generic words; usable
            # only as a whole name, and resolved only with a locality (see _place).
            return span.kind == "street" and span.length >= 2
        if span.kind == "station":
            return True
        if span.kind == "pub":
            return span.cue or len(specific) >= 2
        if span.kind == "bus_stop":
            return span.cue or span.length >= 2
        # Streets: a name plus a street type ("rye ln"), or a long distinctive single word.
        return span.length >= 2 or (len(words[0]) >= 7 and len(span.entries) <= 3)

    def _primary(self, spans: list[_Span], tokens: list[str]) -> _Span | None:
        usable = [s for s in spans if self._acceptable(s, tokens)]
        if not usable:
            return None

        def rank(s: _Span) -> tuple[int, int, int]:
            kind = "station_cue" if s.kind == "station" and s.cue else s.kind
            return (-(s.length + (1 if s.cue else 0)), _KIND_RANK.get(kind, 9), s.start)

        best = min(usable, key=rank)
        if best.kind == "street":
            # Bus stops and stations named after the road are more points on the same name.
            extra = [
                e for e in self.gz.places.get(best.key, []) if e.kind in {"bus_stop", "station"}
            ]
            if extra:
                best = _Span(best.start, best.end, best.key, "street", best.entries + extra)
        return best

    def _context(
        self, spans: list[_Span], primary: _Span | None, hits: list[PostcodeHit]
    ) -> _Context:
        """Locality words, districts and other streets that say which same-name entry."""
        ctx = _Context()
        for hit in hits:
            point = (self.gz.sectors if hit.level == "sector" else self.gz.districts).get(hit.code)
            if point:
                ctx.points.append(point)
                ctx.words.append(hit.code)
        for s in spans:
            if primary is not None and s.start < primary.end and primary.start < s.end:
                continue
            if s.kind == "locality" or (s.kind in {"station", "street"} and len(s.entries) <= 6):
                if s.kind == "street" and s.length < 2:
                    continue
                for e in s.entries:
                    if e.kind == "locality" and e.ref.startswith("E09") and e.ref == e.borough:
                        ctx.boroughs.add(e.borough)  # a borough: membership, not distance
                    else:
                        ctx.points.append((e.lat, e.lon))
                ctx.words.append(s.key)
        return ctx

    def _rank(
        self,
        entries: list[Entry],
        context: _Context,
        hosp: tuple[float, float] | None,
    ) -> tuple[list[tuple[float, Entry]], str]:
        """Order candidates by distance to context (else to hospital); say which was used."""
        if context:
            scored = []
            for e in entries:
                d = min((metres(e.lat, e.lon, la, lo) for la, lo in context.points), default=0.0)
                if context.boroughs and e.borough not in context.boroughs:
                    d += 5000.0
                scored.append((d, e))
            basis = "locality"
        elif hosp is not None:
            scored = [(metres(e.lat, e.lon, *hosp), e) for e in entries]
            basis = "hospital"
        else:
            scored = [(0.0, e) for e in entries]
            basis = "none"
        scored.sort(key=lambda t: (t[0], t[1].name, t[1].lat, t[1].lon))
        return scored, basis

    def _place(
        self,
        base: GeocodeResult,
        span: _Span,
        context: _Context,
        hosp: tuple[float, float] | None,
        typos: int,
    ) -> GeocodeResult | None:
        scored, basis = self._rank(span.entries, context, hosp)
        best_d, best = scored[0]
        confidence = _KIND_BASE.get(span.kind, 0.7) + (0.05 if span.cue else 0.0)
        if all(w in classify.GENERIC for w in span.key.split()):
            confidence *= 0.7  # "High St": common everywhere, trust only with a locality
        rivals = [
            (d, e) for d, e in scored[1:] if metres(e.lat, e.lon, best.lat, best.lon) > SAME_PLACE_M
        ]
        note = "1 candidate"
        if rivals:
            d2 = rivals[0][0]
            note = f"{len(rivals) + 1} candidates, chosen by distance to {basis}"
            if basis == "none":
                confidence *= 0.4
            elif basis == "locality":
                if best_d > 2500:  # the locality does not hold any candidate: abstain
                    confidence *= 0.3
                elif d2 < 2 * best_d + 1000:
                    confidence *= 0.6
            else:
                # Hospital distance is a weak signal: strong only when the rest are far.
                if d2 < 2 * best_d or d2 - best_d < 3000:
                    confidence *= 0.45
                else:
                    confidence *= 0.8
        elif basis == "locality" and best_d > 2500:
            confidence *= 0.3
            note = "1 candidate, far from the locality given"
        confidence *= 0.92**typos
        alternatives = tuple(
            Alternative(e.name, e.kind, e.lat, e.lon, e.borough) for _, e in rivals[:5]
        )
        if confidence < MIN_PLACE_CONFIDENCE:
            return dataclasses.replace(
                base,
                result_class=classify.UNKNOWN,
                confidence=round(confidence, 3),
                method=f"{span.kind}_ambiguous",
                matched=f"{span.kind}: {best.name}",
                alternatives=(
                    Alternative(best.name, best.kind, best.lat, best.lon, best.borough),
                    *alternatives[:4],
                ),
                explanation=f"'{span.key}' is ambiguous ({note}); not placed, see alternatives",
            )
        precision = "street" if span.kind == "street" else "venue"
        ctx = f"; context: {', '.join(context.words)}" if context.words else ""
        return self._placed(
            base,
            best.lat,
            best.lon,
            precision=precision,
            confidence=confidence,
            method=f"{span.kind}_name" + ("_fuzzy" if typos else ""),
            matched=f"{span.kind}: {best.name}",
            alternatives=alternatives,
            explanation=(
                f"matched {span.kind.replace('_', ' ')} '{best.name}' on '{span.key}' "
                f"({note}{ctx}{f'; {typos} typo(s) corrected' if typos else ''})"
            ),
        )

    def _street_entries(self, words: list[str]) -> tuple[str, list[Entry]] | None:
        """The longest street name at the start of ``words`` (adds a missing 'st'/'rd')."""
        for j in range(min(len(words), MAX_NGRAM), 0, -1):
            key = " ".join(words[:j])
            if key in self.gz.streets and (j >= 2 or len(key) >= 7):
                return key, self.gz.streets[key]
        for j in range(min(len(words), MAX_NGRAM - 1), 0, -1):
            for suffix in _STREET_SUFFIXES:
                key = " ".join([*words[:j], suffix])
                if key in self.gz.streets:
                    return key, self.gz.streets[key]
        return None

    def _street_points(self, key: str, entries: list[Entry]) -> np.ndarray:
        pts = self.gz.street_points.get(key)
        if pts is None or not len(pts):
            pts = np.asarray([(e.lat, e.lon) for e in entries], dtype=float)
        return pts

    def _junction(
        self,
        base: GeocodeResult,
        norm: str,
        hosp: tuple[float, float] | None,
        typos: int,
    ) -> GeocodeResult | None:
        norm = " ".join(
            self._correct(t)[0] if t not in self.gz.vocabulary and len(t) >= 5 else t
            for t in norm.split()
        )
        m = _JUNCTION.search(norm) or _JUNCTION_INFIX.match(norm)
        if m is None:
            return None
        left = self._tokens(
            " ".join(t for t in m.group("a").split() if t not in {"outside", "the"})
        )[0]
        right = self._tokens(" ".join(t for t in m.group("b").split() if t != "the"))[0]
        while left and left[0] in _LEADING_NOISE:
            left.pop(0)
        a = self._street_entries(left)
        b = self._street_entries(right)
        if a is None or b is None:
            # A side missing from the street list may still name a bus-stop junction.
            for i in range(len(left), 0, -1):
                for j in range(len(right), 0, -1):
                    ka, kb = " ".join(left[:i]), " ".join(right[:j])
                    named = self.gz.junctions.get((min(ka, kb), max(ka, kb)))
                    if named:
                        entries = [
                            Entry("junction", e.name, e.lat, e.lon, e.borough) for e in named
                        ]
                        return self._junction_result(base, ka, kb, entries, [], hosp, typos)
            return None
        if a[0] == b[0]:
            return None
        rest = right[len(b[0].split()) :]
        ctx_points = [
            (e.lat, e.lon) for k in self._locality_keys(rest) for e in self.gz.localities[k]
        ]
        named = self.gz.junctions.get((min(a[0], b[0]), max(a[0], b[0])))
        if named:
            entries = [Entry("junction", e.name, e.lat, e.lon, e.borough) for e in named]
            return self._junction_result(base, a[0], b[0], entries, ctx_points, hosp, typos)
        pa, pb = self._street_points(*a), self._street_points(*b)
        # Pairwise distances (equirectangular) between the two streets' map points.
        coslat = np.cos(np.radians(51.5))
        dy = (pa[:, None, 0] - pb[None, :, 0]) * 111_195.0
        dx = (pa[:, None, 1] - pb[None, :, 1]) * 111_195.0 * coslat
        dist = np.hypot(dx, dy)
        close = np.argwhere(dist <= JUNCTION_MAX_GAP_M)
        if not len(close):
            return None
        # One candidate junction per 500 m: the closest pair in each group.
        order = sorted(close.tolist(), key=lambda ij: (dist[ij[0], ij[1]], ij[0], ij[1]))
        sites: list[tuple[float, float, float]] = []
        for i, j in order:
            lat = (pa[i, 0] + pb[j, 0]) / 2
            lon = (pa[i, 1] + pb[j, 1]) / 2
            if all(metres(lat, lon, s[0], s[1]) > SAME_PLACE_M for s in sites):
                sites.append((lat, lon, float(dist[i, j])))
        entries = [Entry("junction", f"{a[0]} / {b[0]}", s[0], s[1]) for s in sites]
        return self._junction_result(base, a[0], b[0], entries, ctx_points, hosp, typos)

    def _junction_result(
        self,
        base: GeocodeResult,
        a: str,
        b: str,
        entries: list[Entry],
        ctx_points: list[tuple[float, float]],
        hosp: tuple[float, float] | None,
        typos: int,
    ) -> GeocodeResult | None:
        scored, basis = self._rank(entries, _Context(points=ctx_points), hosp)
        best_d, best = scored[0]
        confidence = 0.85 * 0.92**typos
        note = "1 meeting point"
        if len(scored) > 1:
            d2 = scored[1][0]
            note = f"{len(scored)} meeting points, chosen by distance to {basis}"
            if basis == "none" or d2 < 2 * best_d or d2 - best_d < 2000:
                confidence *= 0.5
        alternatives = tuple(Alternative(e.name, "junction", e.lat, e.lon) for _, e in scored[1:6])
        if confidence < MIN_PLACE_CONFIDENCE:
            return None
        return self._placed(
            base,
            best.lat,
            best.lon,
            precision="junction",
            confidence=confidence,
            method="junction",
            matched=f"junction: {best.name}",
            alternatives=alternatives,
            explanation=f"junction of '{a}' and '{b}' ({note})",
        )

    def _locality_keys(self, words: list[str]) -> list[str]:
        keys = []
        for i in range(len(words)):
            for j in range(i + 1, min(len(words), i + 4) + 1):
                key = " ".join(words[i:j])
                if key in self.gz.localities:
                    keys.append(key)
        return keys

    # --- result builders ----------------------------------------------------------------

    @staticmethod
    def _nearest(entries: list[Entry], hosp: tuple[float, float] | None) -> Entry:
        if hosp is None:
            return entries[0]
        return min(entries, key=lambda e: (metres(e.lat, e.lon, *hosp), e.name))

    @staticmethod
    def _unplaced(base: GeocodeResult, cls: str, method: str, why: str) -> GeocodeResult:
        return dataclasses.replace(
            base,
            result_class=cls,
            method=method,
            explanation=why,
            confidence=0.9 if cls != classify.UNKNOWN else 0.0,
        )

    def _placed(
        self,
        base: GeocodeResult,
        lat: float,
        lon: float,
        *,
        precision: str,
        confidence: float,
        method: str,
        matched: str,
        explanation: str,
        alternatives: tuple[Alternative, ...] = (),
        areas: tuple[str, str, str] | None = None,
    ) -> GeocodeResult:
        lat, lon = round(float(lat), 6), round(float(lon), 6)
        memo = self._point_memo.get((lat, lon))
        if memo is None:
            # Gazetteer points recur across descriptions: areas and grid reference once each.
            easting, northing = _TO_BNG.transform(lon, lat)
            memo = (*(areas or self.gz.areas_at(lat, lon)), easting, northing)
            self._point_memo[(lat, lon)] = memo
        lsoa, ward, borough, easting, northing = memo
        return dataclasses.replace(
            base,
            result_class=PLACE,
            lat=lat,
            lon=lon,
            easting=round(easting, 1),
            northing=round(northing, 1),
            precision=precision,
            confidence=round(min(confidence, 1.0), 3),
            method=method,
            matched=matched,
            alternatives=alternatives[:5],
            lsoa=lsoa,
            ward=ward,
            borough=borough,
            explanation=explanation,
        )

    def _postcode_unit(self, base: GeocodeResult, hit: PostcodeHit) -> GeocodeResult:
        lat, lon, lsoa, ward, borough = self.gz.units[hit.code]
        return self._placed(
            base,
            lat,
            lon,
            precision="postcode_unit",
            confidence=0.95,
            method="postcode",
            matched=f"postcode: {hit.code}",
            explanation=f"full postcode {hit.code}",
            areas=(lsoa, ward, borough),
        )

    def _postcode_area(self, base: GeocodeResult, hit: PostcodeHit) -> GeocodeResult:
        if hit.level == "sector":
            lat, lon = self.gz.sectors[hit.code]
            precision, confidence = "postcode_sector", 0.45
        else:
            lat, lon = self.gz.districts[hit.code]
            precision, confidence = "postcode_district", 0.3
        return self._placed(
            base,
            lat,
            lon,
            precision=precision,
            confidence=confidence,
            method="postcode_partial",
            matched=f"{hit.level}: {hit.code}",
            explanation=f"postcode {hit.level} {hit.code} only (centre of its postcodes)",
        )

    def _from_alias(self, base: GeocodeResult, alias: AliasTarget, hospital: str) -> GeocodeResult:
        why = f"learned from a reviewer's decision for {hospital or 'any hospital'}"
        if alias.result_class == PLACE and alias.lat is not None and alias.lon is not None:
            return self._placed(
                base,
                alias.lat,
                alias.lon,
                precision="venue",
                confidence=1.0,
                method="learned_alias",
                matched=f"alias: {alias.label}",
                explanation=why,
            )
        return dataclasses.replace(
            base,
            result_class=alias.result_class,
            method="learned_alias",
            confidence=1.0,
            matched=f"alias: {alias.label}",
            explanation=why,
        )
