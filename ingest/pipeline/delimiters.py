"""Which character separates the columns of a delimited text file.

Shared by intake (a ``.txt`` or ``.tsv`` must show columns before it is accepted, and a
``.txt`` is recorded as CSV or TSV by what separates them) and the delimited parser.
"""

from __future__ import annotations

from collections import Counter

CANDIDATE_DELIMITERS = ("\t", ",", ";", "|")


def _head_lines(text: str, n: int) -> list[str]:
    """``text.splitlines()[:n]`` without splitting the whole file: a prefix with more
    than ``n`` lines holds the first ``n`` whole (a cut "\r\n" only adds a line after
    them), so a growing prefix is split until it has them or is the whole text."""
    size = 8192
    while size < len(text):
        lines = text[:size].splitlines()
        if len(lines) > n:
            return lines[:n]
        size *= 4
    return text.splitlines()[:n]


def _best(text: str, sample_lines: int) -> tuple[str | None, int, int]:
    """(best delimiter or None, lines it appears in, non-blank lines sampled)."""
    lines = [ln for ln in _head_lines(text, sample_lines * 2) if ln.strip()][:sample_lines]
    best, best_score, best_lines = None, -1.0, 0
    for d in CANDIDATE_DELIMITERS:
        counts = [ln.count(d) for ln in lines]
        positive = [c for c in counts if c > 0]
        if not positive:
            continue
        mode, freq = Counter(positive).most_common(1)[0]
        score = freq + mode / 1000  # many consistent lines first, then more columns
        if score > best_score:
            best, best_score, best_lines = d, score, len(positive)
    return best, best_lines, len(lines)


def detect_delimiter(text: str, sample_lines: int = 30) -> str:
    """The delimiter whose count per line is most consistent over the first lines
    (a comma when none appears).

    Counting (rather than csv.Sniffer alone) copes with title rows above the header
    and with commas inside free-text location descriptions.
    """
    return _best(text, sample_lines)[0] or ","


def delimiter_of(text: str, sample_lines: int = 30) -> str | None:
    """:func:`detect_delimiter`, or None when no candidate appears in at least half of
    the first non-blank lines: the text is not a table (prose, a log, a single column)."""
    best, with_it, sampled = _best(text, sample_lines)
    if best is None or 2 * with_it < sampled:
        return None
    return best
