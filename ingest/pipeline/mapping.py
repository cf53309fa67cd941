"""Column mapping: propose one for an unseen layout, check a stored one, detect drift,
and propose a new one from the previous mapping when a hospital's layout changes.

A proposal scores every (column, field) pair from the header name (synonyms, fuzzy
matching) and from sample values (do they parse as dates, times, known codes, or look
like free text?), then assigns greedily, best pair first. The confidence per field is
what the confirmation page shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz, process

from .dates import BadValue, parse_datetime, parse_time
from .harmonise import norm_label, resolve_location_type, resolve_method
from .parsers.common import cell_text
from .parsers.ecds import ecds_mapping
from .types import Cell, ColumnMapping, DriftReport, Field, MappingProposal, RawRow

MANDATORY: tuple[tuple[Field, ...], ...] = (
    (Field.ASSAULT_AT, Field.ASSAULT_DATE),
    (Field.METHOD,),
    (Field.LOCATION_TYPE,),
)
MIN_CONFIDENCE = 0.5

_ARRIVAL = re.compile(
    r"arriv|attend|admi(?:ssion|t)|registrat|check.?in|booked|presentation|\bed\b|a&e", re.I
)
_ASSAULT = re.compile(r"assault|incident|injur|attack|occur|event|offence", re.I)
_DATE = re.compile(r"date|\bday\b|\bdt\b|when", re.I)
_TIME = re.compile(r"time|\bhr\b|hour", re.I)

SYNONYMS: dict[Field, tuple[str, ...]] = {
    Field.METHOD: (
        "assault method",
        "method",
        "weapon",
        "weapon used",
        "mechanism",
        "method of assault",
        "injury mechanism",
        "weapon method",
        "how assaulted",
        "assault weapon",
        "object used",
        "means of assault",
        "method code",
    ),
    Field.METHOD_OTHER: (
        "method other",
        "other method",
        "assault method other description",
        "method other description",
        "weapon other",
        "other weapon",
        "method details",
        "weapon details",
        "weapon description",
        "method description",
        "if other specify",
        "other specify",
        "method free text",
    ),
    Field.LOCATION_TYPE: (
        "location type",
        "type of location",
        "place type",
        "location category",
        "assault location type",
        "place of incident",
        "location",
        "place",
        "setting",
        "where did the assault happen",
        "type of place",
        "venue type",
        "location code",
        "place of assault",
        "where assaulted",
    ),
    Field.LOCATION_DESCRIPTION: (
        "location description",
        "assault location description",
        "location details",
        "where exactly",
        "location of assault",
        "place description",
        "incident location",
        "location free text",
        "description of location",
        "location text",
        "exact location",
        "address of incident",
        "incident address",
        "location notes",
        "where did it happen details",
        "location of incident",
        "street name",
        "details of location",
    ),
}
_SYN_NORM = {
    f: [norm_label(re.sub(r"[^\w ]+", " ", s)) for s in syns] for f, syns in SYNONYMS.items()
}


def _norm_header(name: str) -> str:
    return norm_label(re.sub(r"[^\w&]+", " ", name))


def _header_score(field: Field, header: str) -> float:
    h = _norm_header(header)
    if not h:
        return 0.0
    syns = _SYN_NORM[field]
    if h in syns:
        return 1.0
    best = process.extractOne(h, syns, scorer=fuzz.token_set_ratio)
    return 0.9 * (best[1] / 100.0) if best else 0.0


def _samples(rows: Sequence[RawRow], column: str, n: int = 50) -> list[Cell]:
    out: list[Cell] = []
    for _, values in rows:
        v = values.get(column)
        if v is not None and cell_text(v).strip():
            out.append(v)
            if len(out) >= n:
                break
    return out


def _share(samples: list[Cell], pred: Callable[[Cell], bool]) -> float:
    return sum(bool(pred(s)) for s in samples) / len(samples) if samples else 0.0


def _date_profile(samples: list[Cell]) -> tuple[float, float, float]:
    """(share parseable as date, share with a non-midnight time, share parseable as time)."""
    dates = with_time = times = 0
    for s in samples:
        try:
            p = parse_datetime(s)
            if p is not None:
                dates += 1
                if p[1] is not None and (p[1].hour or p[1].minute):
                    with_time += 1
                continue
        except BadValue:
            pass
        if isinstance(s, datetime):
            continue
        try:
            parse_time(s)  # None means "time not known": still a time column
            times += 1
        except BadValue:
            pass
    n = max(len(samples), 1)
    return dates / n, with_time / n, times / n


def _scores(column: str, samples: list[Cell]) -> dict[Field, float]:
    scores: dict[Field, float] = {}
    h = _norm_header(column)
    arrival, assault = bool(_ARRIVAL.search(h)), bool(_ASSAULT.search(h))
    has_date, has_time = bool(_DATE.search(h)), bool(_TIME.search(h))
    d_share, t_in_d, t_share = _date_profile(samples) if samples else (0.0, 0.0, 0.0)

    # Date/time fields: role from header words, kind from header words then values.
    if has_date or has_time or d_share >= 0.6 or t_share >= 0.6:
        role_scores = {
            "arrival": 0.95 if arrival and not assault else 0.3,
            "assault": 0.95 if assault and not arrival else 0.4,
        }
        if arrival and assault:  # "Arrival date of assault patient": ambiguous
            role_scores = {"arrival": 0.6, "assault": 0.6}
        if has_time and not has_date:
            kind_fits = {"time": t_share if samples else 0.7}
        elif has_date or d_share >= t_share:
            fit = d_share if samples else 0.7
            combined = (has_date and has_time) or t_in_d > 0.3
            kind_fits = {
                "at": fit * (1.0 if combined else 0.55),
                "date": fit * (0.55 if combined else 1.0),
            }
        else:
            kind_fits = {"time": t_share}
        for role, rs in role_scores.items():
            for kind, fit in kind_fits.items():
                scores[Field(f"{role}_{kind}")] = 0.6 * rs + 0.4 * fit
        if has_date or has_time or d_share >= 0.6:
            return scores

    texts = [cell_text(s) for s in samples]
    avg_len = sum(map(len, texts)) / len(texts) if texts else 0.0
    distinct = len(set(texts)) / len(texts) if texts else 0.0
    method_fit = _share(
        samples,
        lambda s: resolve_method(cell_text(s)).rule.endswith(("label", "national_code", "snomed")),
    )
    loc_fit = _share(
        samples,
        lambda s: resolve_location_type(cell_text(s)).rule.endswith(
            ("label", "national_code", "snomed")
        ),
    )
    free_fit = min(1.0, avg_len / 20.0) * (0.5 + 0.5 * distinct) if texts else 0.5
    value_fit = {
        Field.METHOD: method_fit if texts else 0.5,
        Field.LOCATION_TYPE: loc_fit if texts else 0.5,
        Field.LOCATION_DESCRIPTION: free_fit,
        Field.METHOD_OTHER: free_fit if texts else 0.5,
    }
    for f in SYNONYMS:
        hs = _header_score(f, column)
        if hs < 0.5:
            continue
        scores[f] = 0.65 * hs + 0.35 * value_fit[f]
    return scores


def propose_mapping(columns: Sequence[str], sample_rows: Sequence[RawRow]) -> MappingProposal:
    """Propose a column mapping from header names and up to ~50 sample rows."""
    ecds = ecds_mapping(columns)
    if ecds is not None:
        conf = dict.fromkeys(ecds.columns, 0.95)
        return MappingProposal(
            ecds,
            conf,
            tuple(c for c in columns if c not in ecds.columns.values()),
            _missing(ecds.columns.keys()),
        )
    candidates: list[tuple[float, int, str, Field]] = []
    for idx, col in enumerate(columns):
        for f, s in _scores(col, _samples(sample_rows, col)).items():
            if s >= MIN_CONFIDENCE:
                candidates.append((s, -idx, col, f))
    candidates.sort(reverse=True)
    chosen: dict[Field, str] = {}
    confidence: dict[Field, float] = {}
    used: set[str] = set()
    for score, _, col, f in candidates:
        if col in used or f in chosen or _conflicts(f, chosen):
            continue
        chosen[f] = col
        confidence[f] = round(min(score, 1.0), 2)
        used.add(col)
    ordered = {f: chosen[f] for f in Field if f in chosen}
    return MappingProposal(
        mapping=ColumnMapping(columns=ordered),
        confidence={f: confidence[f] for f in ordered},
        unmapped_columns=tuple(c for c in columns if c not in used),
        missing_fields=_missing(ordered.keys()),
    )


def _conflicts(f: Field, chosen: dict[Field, str]) -> bool:
    """A combined date-time field excludes the split date field of the same role."""
    pairs = {
        Field.ARRIVAL_AT: (Field.ARRIVAL_DATE,),
        Field.ARRIVAL_DATE: (Field.ARRIVAL_AT,),
        Field.ASSAULT_AT: (Field.ASSAULT_DATE,),
        Field.ASSAULT_DATE: (Field.ASSAULT_AT,),
    }
    return any(other in chosen for other in pairs.get(f, ()))


def _missing(fields: Iterable[Field]) -> tuple[Field, ...]:
    have = set(fields)
    return tuple(group[0] for group in MANDATORY if not have.intersection(group))


def missing_columns(mapping: ColumnMapping, columns: Sequence[str]) -> list[str]:
    """Mapped source columns that the file does not have (→ schema mismatch)."""
    present = set(columns)
    return [c for c in mapping.columns.values() if c not in present]


# The items a file cannot do without: a missing column for any of these is a changed
# layout. Any other mapped column may be absent (that item is then not supplied).
REQUIRED_FIELDS: frozenset[Field] = frozenset(
    {*(f for group in MANDATORY for f in group), Field.INJURY_INTENT}
)


def absent_optional(
    mapping: ColumnMapping, columns: Sequence[str], previous: Sequence[str] | None
) -> dict[Field, str]:
    """Optional items whose mapped column the file lacks, when that is all that differs.

    Empty when nothing is missing, when a required item's column is missing, or when a
    missing column seems only renamed (then the layout changed and the data is there).
    """
    present = set(columns)
    gone = {f: c for f, c in mapping.columns.items() if c not in present}
    if not gone or REQUIRED_FIELDS.intersection(gone):
        return {}
    drift = detect_drift(previous or list(mapping.columns.values()), columns)
    renamed = {old for old, _ in drift.renamed}
    if renamed.intersection(gone.values()):
        return {}
    return gone


def _rename_score(a: str, b: str, **_: object) -> float:
    """Similar spelling, or one name's words contained in the other's ("Weapon used")."""
    return max(fuzz.ratio(a, b), 0.85 * fuzz.token_set_ratio(a, b))


def detect_drift(previous: Sequence[str], current: Sequence[str]) -> DriftReport:
    """Compare a file's columns with the previous file's from the same hospital.

    Removed/added pairs whose names are close (case, punctuation, small edits) are
    reported as renames.
    """
    prev_set, cur_set = set(previous), set(current)
    removed = [c for c in previous if c not in cur_set]
    added = [c for c in current if c not in prev_set]
    renamed: list[tuple[str, str]] = []
    for old in list(removed):
        if not added:
            break
        match = process.extractOne(
            _norm_header(old), [_norm_header(a) for a in added], scorer=_rename_score
        )
        if match and match[1] >= 75:
            new = added[match[2]]
            renamed.append((old, new))
            removed.remove(old)
            added.remove(new)
    common_prev = [c for c in previous if c in cur_set]
    common_cur = [c for c in current if c in prev_set]
    return DriftReport(
        tuple(added), tuple(removed), tuple(renamed), common_prev != common_cur, tuple(common_cur)
    )


# --- a changed layout -------------------------------------------------------------------

_CODED_RULES = ("label", "national_code", "snomed")
_TIME_FIELDS = frozenset({Field.ARRIVAL_TIME, Field.ASSAULT_TIME})
_AT_FIELDS = frozenset({Field.ARRIVAL_AT, Field.ASSAULT_AT})
_DATE_FIELDS = frozenset({Field.ARRIVAL_DATE, Field.ASSAULT_DATE})


def _is_method(value: Cell) -> bool:
    return resolve_method(cell_text(value)).rule.endswith(_CODED_RULES)


def _is_location_type(value: Cell) -> bool:
    return resolve_location_type(cell_text(value)).rule.endswith(_CODED_RULES)


@dataclass(frozen=True, slots=True)
class _ValueProfile:
    """What a column's sample values look like; shares of the non-blank samples."""

    samples: int
    dates: float
    times_in_dates: float
    times: float
    methods: float
    locations: float
    free_text: float

    @classmethod
    def of(cls, samples: list[Cell]) -> _ValueProfile:
        if not samples:
            return cls(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        d_share, t_in_d, t_share = _date_profile(samples)
        texts = [cell_text(s) for s in samples]
        avg_len = sum(map(len, texts)) / len(texts)
        distinct = len(set(texts)) / len(texts)
        return cls(
            samples=len(samples),
            dates=d_share,
            times_in_dates=t_in_d,
            times=t_share,
            methods=_share(samples, _is_method),
            locations=_share(samples, _is_location_type),
            free_text=min(1.0, avg_len / 20.0) * (0.5 + 0.5 * distinct),
        )

    def fit(self, field: Field) -> float | None:
        """How well the values fit ``field`` (0-1); None when there are no values."""
        if not self.samples:
            return None
        combined = self.times_in_dates > 0.3
        if field in _AT_FIELDS:
            return self.dates * (1.0 if combined else 0.6)
        if field in _DATE_FIELDS:
            return self.dates * (0.6 if combined else 1.0)
        if field in _TIME_FIELDS:
            return self.times
        if field is Field.METHOD:
            return self.methods
        if field is Field.LOCATION_TYPE:
            return self.locations
        if field in (Field.METHOD_OTHER, Field.LOCATION_DESCRIPTION):
            return self.free_text * (1.0 - max(self.methods, self.locations, self.dates))
        return 0.0

    def contradicts(self, field: Field, best_new: float = 0.0) -> bool:
        """The values hold something else (a column that kept its name but not its
        meaning: "Location" once the type, now the description): they clearly do not fit
        ``field``, or fit it poorly while a new column (``best_new``) fits it well."""
        if self.samples < 3:
            return False
        if field in (Field.METHOD_OTHER, Field.LOCATION_DESCRIPTION):
            return max(self.methods, self.locations, self.dates) >= 0.6
        fit = self.fit(field) or 0.0
        return fit < 0.3 or (fit < 0.6 and best_new >= 0.9 and best_new >= fit + 0.3)

    def kind(self) -> str:
        """A plain description for the mapping page (never a value)."""
        if not self.samples:
            return "blank in the sample rows"
        if self.dates >= 0.6:
            return "dates and times" if self.times_in_dates > 0.3 else "dates"
        if self.times >= 0.6:
            return "times"
        both = self.methods >= 0.6 and self.locations >= 0.6
        if both and abs(self.methods - self.locations) < 0.2:
            return "method or location-type codes"
        if self.methods >= 0.6 and self.methods > self.locations:
            return "assault methods"
        if self.locations >= 0.6:
            return "location types"
        if self.free_text >= 0.5:
            return "free text"
        return "short values"


# The other shape of the same date or time: separate date and time ↔ one date-time.
_SHAPES: dict[Field, tuple[Field, ...]] = {
    Field.ARRIVAL_DATE: (Field.ARRIVAL_AT,),
    Field.ARRIVAL_TIME: (Field.ARRIVAL_AT,),
    Field.ARRIVAL_AT: (Field.ARRIVAL_DATE, Field.ARRIVAL_TIME),
    Field.ASSAULT_DATE: (Field.ASSAULT_AT,),
    Field.ASSAULT_TIME: (Field.ASSAULT_AT,),
    Field.ASSAULT_AT: (Field.ASSAULT_DATE, Field.ASSAULT_TIME),
}


def _excludes(f: Field, chosen: dict[Field, str]) -> bool:
    """A date-time excludes the same role's separate date and time, and the reverse."""
    if f in _AT_FIELDS:
        return any(other in chosen for other in _SHAPES[f])
    return any(other in chosen for other in _SHAPES.get(f, ()) if other in _AT_FIELDS)


def describe_columns(columns: Sequence[str], sample_rows: Sequence[RawRow]) -> dict[str, str]:
    """Column → what its sample values look like ("dates and times", "assault methods",
    "free text" …). Descriptions only: no value is ever copied."""
    return {c: _ValueProfile.of(_samples(sample_rows, c)).kind() for c in columns}


def propose_remapping(
    previous: ColumnMapping,
    previous_columns: Sequence[str],
    columns: Sequence[str],
    sample_rows: Sequence[RawRow],
    *,
    based_on: int | None = None,
    earlier: Sequence[ColumnMapping] = (),
) -> MappingProposal:
    """A new mapping for a hospital whose file layout changed, built from its previous one.

    A column still in the file keeps its field, unless its values clearly hold something
    else (then it competes like a new column). A field whose column is gone goes to the
    new column that best matches it: a similar name ("Assault Method" → "ASSAULT_METHOD",
    "Weapon used"), the synonyms of an unseen layout, and values that fit (dates, times,
    method or location-type codes, free text). Fields the previous mapping did not have
    are proposed as for an unseen layout. The previous value mappings are kept.
    ``earlier`` are older versions: the names they gave a field count as its names too.
    """
    present = set(columns)
    profiles = {c: _ValueProfile.of(_samples(sample_rows, c)) for c in columns}
    known = set(previous_columns) | set(previous.columns.values())
    chosen: dict[Field, str] = {}
    confidence: dict[Field, float] = {}
    doubtful: set[str] = set()  # kept columns whose values no longer fit their field
    for f, col in previous.columns.items():
        if col not in present:
            continue
        best_new = max((profiles[c].fit(f) or 0.0 for c in columns if c not in known), default=0)
        if profiles[col].contradicts(f, best_new):
            doubtful.add(col)
        else:
            chosen[f] = col
            confidence[f] = 1.0
    # Field → the old column(s) it may have moved from: a lost field's own, and for a
    # date or time the same role's other shape (separate date and time ↔ one date-time).
    lost: dict[Field, set[str]] = {}
    for f, col in previous.columns.items():
        if f in chosen:
            continue
        for target in (f, *_SHAPES.get(f, ())):
            if target not in chosen:
                lost.setdefault(target, set()).add(col)
    new_columns = [c for c in columns if c not in known or c in doubtful]
    candidates: list[tuple[float, int, str, Field, str]] = []
    for idx, col in enumerate(new_columns):
        samples = _samples(sample_rows, col)
        by_header = _scores(col, samples)  # synonyms and values, as for an unseen layout
        profile = profiles[col]
        for f, olds in lost.items():
            names = {old: old for old in olds}
            names.update({m.columns[f]: old for m in earlier if f in m.columns for old in olds})
            name, old = max(
                (_rename_score(_norm_header(n), _norm_header(col)) / 100.0, names[n]) for n in names
            )
            fit = profile.fit(f)
            by_rename = 0.8 * name if fit is None else 0.5 * name + 0.5 * fit
            score = max(by_rename, by_header.get(f, 0.0))
            if score >= MIN_CONFIDENCE:
                candidates.append((score, -idx, col, f, old))
    renamed: list[tuple[str, str]] = []
    used = set(chosen.values())
    for score, _, col, f, old in sorted(candidates, reverse=True):
        if col in used or f in chosen or _excludes(f, chosen):
            continue
        chosen[f] = col
        confidence[f] = round(min(score, 1.0), 2)
        used.add(col)
        if old != col:
            renamed.append((old, col))
    # Fields still without a column: as for an unseen layout, over the new columns left
    # (a column the previous mapping left unused stays unused).
    rest = [c for c in new_columns if c not in used]
    if rest:
        fresh = propose_mapping(rest, sample_rows)
        for f, col in fresh.mapping.columns.items():
            if f in chosen or _excludes(f, chosen):
                continue
            chosen[f] = col
            confidence[f] = fresh.confidence[f]
            used.add(col)
    ordered = {f: chosen[f] for f in Field if f in chosen}
    values = {f: v for f, v in previous.values.items() if f in ordered}
    return MappingProposal(
        mapping=ColumnMapping(columns=ordered, values=values),
        confidence={f: confidence[f] for f in ordered},
        unmapped_columns=tuple(c for c in columns if c not in used),
        missing_fields=_missing(ordered.keys()),
        based_on=based_on,
        renamed=tuple(renamed),
    )
