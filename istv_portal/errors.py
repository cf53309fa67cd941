"""Server-error handler: a database outage answers 503 (try again), anything else 500.

Django calls ``handler500`` while the exception is still being handled, wherever it was
raised (a view or a middleware reading the session), so the cause can be told apart
here. Neither page uses the database, context processors or the exception text.

The error page must not fail in its turn: if its template cannot be rendered (a broken
deployment), a plain built-in page with the same words is sent instead, so the visitor
still gets the portal's answer and status rather than the web server's bare error.
Static URLs render even before ``collectstatic`` (``istv_portal.static_storage``).
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader

RETRY_AFTER_SECONDS = 30
logger = logging.getLogger(__name__)

PLAIN_PAGE = (
    '<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8">'
    "<title>{title} \u2013 ISTV Portal</title></head>"
    '<body><h1>{title}</h1><p>{text}</p><p><a href="/">Go to the home page</a></p></body></html>'
)
PLAIN_TEXT = {
    "500.html": (
        "Sorry, there is a problem with the service",
        "Try again later. The problem has been logged.",
    ),
    "503.html": (
        "Sorry, the service is unavailable",
        "Try again in a few minutes. Nothing you have already saved has been lost.",
    ),
}


def _page(template: str) -> str:
    try:
        return loader.get_template(template).render()
    except Exception:  # the error page itself must never be the next error
        logger.exception("The error page %s could not be rendered; sent a plain one", template)
        title, text = PLAIN_TEXT[template]
        return PLAIN_PAGE.format(title=title, text=text)


def server_error(request: HttpRequest) -> HttpResponse:
    _type, exc, _tb = sys.exc_info()
    if isinstance(exc, OperationalError | InterfaceError):
        response = HttpResponse(_page("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return HttpResponse(_page("500.html"), status=500)
