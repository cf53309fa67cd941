"""Request correlation: every request gets an id, echoed in a header and in every log line.
And the portal's own page for a 405 (an action URL opened in the browser)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_SAFE_INCOMING_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
METHOD_NOT_ALLOWED_TEMPLATE = "405.html"


class RequestIdMiddleware:
    """Takes a well-formed X-Request-ID from the proxy, or makes one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_INCOMING_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class MethodNotAllowedPageMiddleware:
    """A browser that GETs an action URL (a view that only accepts POST) gets the portal's
    own 405 page, saying what to do, instead of the empty page Django's
    ``HttpResponseNotAllowed`` sends. Done once here rather than in every view.

    Only an *empty* 405 is filled in: DRF's 405s already carry JSON and keep it. A client
    that does not accept HTML keeps the empty answer. The status, the ``Allow`` header and
    every other header (``never_cache`` and so on) are kept: only the body changes.
    Last in ``MIDDLEWARE``, so the page renders with the signed-in person's navigation.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 405
            and not response.streaming
            and not response.content
            and request.accepts("text/html")
        ):
            response.content = render_to_string(METHOD_NOT_ALLOWED_TEMPLATE, request=request)
            response["Content-Type"] = "text/html; charset=utf-8"
        return response
