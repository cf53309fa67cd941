"""Read GOV.UK-style form errors out of a rendered page: the message drawn at a field, and
the error summary's links (each to its field)."""

from __future__ import annotations

import html as html_lib
import re


def error_at(html: str, field: str) -> str:
    """The inline error message drawn at ``field`` (empty if none)."""
    found = re.search(rf'id="id_{field}-error"[^>]*>(.*?)</p>', html, re.S)
    if not found:
        return ""
    text = re.sub(r"<[^>]+>", "", found.group(1)).replace("Error:", "", 1)
    return html_lib.unescape(text).strip()


def summary_links(html: str) -> dict[str, str]:
    """Field name → message, from the error summary at the top of the page."""
    summary = re.search(r'class="govuk-error-summary".*?</ul>', html, re.S)
    assert summary is not None, "no error summary"
    # A radio or checkbox group's message links to its first option (``id_<name>_0``).
    links = re.findall(r'<a href="#id_(\w+?)(?:_0)?">(.*?)</a>', summary.group(0), re.S)
    return {name: html_lib.unescape(text).strip() for name, text in links}
