"""Error handlers. Under /api/ every error is JSON (``{"detail": ...}``), as the API's own
answers are; elsewhere the portal's pages.

Server errors: a database outage answers 503 (try again), anything else 500.

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
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults

RETRY_AFTER_SECONDS = 30
API_PREFIX = "/api/"  # clients there parse every answer as JSON, errors too
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


def _is_api(request: HttpRequest | None) -> bool:
    # No request at all when the handler is called outside a request (tests, a broken
    # middleware): answer with the page.
    return request is not None and request.path.startswith(API_PREFIX)


def _api_error(detail: str, status: int) -> JsonResponse:
    """The API's error shape (``{"detail": ...}``, as DRF answers), never an HTML page."""
    response = JsonResponse({"detail": detail}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A request Django refuses before any view (too many fields, a bad host) under /api/
    answers JSON; elsewhere the portal's 400 page."""
    if _is_api(request):
        return _api_error("Bad request.", 400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _api_error("You do not have permission to perform this action.", 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """An unknown URL under /api/ answers JSON; elsewhere the portal's 404 page."""
    if _is_api(request):
        return _api_error("Not found.", 404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    _type, exc, _tb = sys.exc_info()
    unavailable = isinstance(exc, OperationalError | InterfaceError)
    template = "503.html" if unavailable else "500.html"
    response: HttpResponse
    if _is_api(request):
        response = _api_error(PLAIN_TEXT[template][1], 503 if unavailable else 500)
    else:
        response = HttpResponse(_page(template), status=503 if unavailable else 500)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
