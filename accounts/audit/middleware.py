"""Audits every denied request: 403 responses and 404s raised by scope policy."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts.audit.denials import DenialState, OutOfScope, current_denial, record_denial

logger = logging.getLogger("istv.security")


class DeniedRequestAuditMiddleware:
    """Records ``auth.denied`` for a 403, or a 404 that came from ``OutOfScope``.

    Sits after ``AuthenticationMiddleware`` so the actor is known. Ordinary 404s (unknown
    URLs, missing objects) and redirects to the sign-in page are not denials and are not
    recorded. A failure to write the audit row is logged and does not change the response:
    the request was refused either way.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        state = DenialState()
        token = current_denial.set(state)
        try:
            response = self.get_response(request)
        finally:
            current_denial.reset(token)
        out_of_scope = getattr(request, "_audit_out_of_scope", None) or state.out_of_scope
        status = response.status_code
        denied = status == 403 or (status == 404 and out_of_scope is not None)
        if denied and not state.recorded:
            token = current_denial.set(state)
            try:
                record_denial(request, status=status, out_of_scope=out_of_scope)
            except Exception:
                logger.exception("could not audit a denied request")
            finally:
                current_denial.reset(token)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, OutOfScope):
            # Django turns it into the 404 page further out; remember why for __call__.
            request._audit_out_of_scope = exception  # type: ignore[attr-defined]
