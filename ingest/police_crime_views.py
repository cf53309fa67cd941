"""The data manager's upload of police-recorded crime (data.police.uk street-level CSV).

Mounted at /submissions/police-crime/; anyone but a data manager gets an audited 404
(``reference_page``). The import itself is ``ingest.police_crime``, as the
``import_police_crime`` command runs it; the page shows its counts and the malformed rows
(numbers and reasons only).
"""

from __future__ import annotations

from typing import cast

from django import forms
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from accounts.models import User
from ingest.police_crime import PoliceCrimeFileError, import_police_crime
from ingest.reference_views import _render, reference_page


class PoliceCrimeUploadForm(forms.Form):
    file = forms.FileField(
        label="Street-level crime file (CSV)",
        help_text="One force's month from data.police.uk, for example "
        "2025-01-metropolitan-street.csv. Importing a force's month again replaces it.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv"}),
        error_messages={
            "required": "Choose a file to upload.",
            "empty": "The selected file is empty.",
        },
    )


@reference_page
@require_http_methods(["GET", "POST"])
def police_crime_upload(request: HttpRequest) -> HttpResponse:
    posted = request.method == "POST"
    form = PoliceCrimeUploadForm(
        request.POST if posted else None, request.FILES if posted else None
    )
    report = None
    if posted and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = import_police_crime(
                [("upload", upload.file)], actor=cast(User, request.user), request=request
            )
        except (PoliceCrimeFileError, UnicodeDecodeError) as exc:
            message = (
                "The file is not UTF-8 text."
                if isinstance(exc, UnicodeDecodeError)
                else "The file is not a data.police.uk street-level CSV: its header lacks "
                "Month, Reported by, LSOA code or Crime type."
            )
            form.add_error("file", message)
    status = 400 if posted and form.errors else 200
    return _render(
        request,
        "submissions/police_crime_upload.html",
        {"form": form, "report": report, "summary": report.summary() if report else None},
        status=status,
    )
