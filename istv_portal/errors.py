"""Server-error handler: a database outage answers 503 (try again), anything else 500.

Django calls ``handler500`` while the exception is still being handled, wherever it was
raised (a view or a middleware reading the session), so the cause can be told apart
here. Neither page uses the database, context processors or the exception text.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader

RETRY_AFTER_SECONDS = 30


def server_error(request: HttpRequest) -> HttpResponse:
    _type, exc, _tb = sys.exc_info()
    if isinstance(exc, OperationalError | InterfaceError):
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return HttpResponse(loader.get_template("500.html").render(), status=500)
