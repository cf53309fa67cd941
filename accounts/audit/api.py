"""Every API call on the record, including the ones no handler audits.

Handlers that read or change data write their own, richer event (``data_access_record``,
``submission_receive``…), and refusals (403, policy 404) are written by
``DeniedRequestAuditMiddleware`` as ``auth.denied``. What is left — a submission listed
or opened, a filter refused with 400, a call throttled with 429 — gets one ``api.called``
event here, after the response is built, so that every call by a signed-in user leaves a
row (the issue: "every call audited"). Calls without a signed-in user are not written:
anyone could fill the log with them, and failed authentication is audited where it
happens.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework.request import Request

from accounts.audit.models import Action
from accounts.audit.services import audit_record

# Written by the denial middleware once the response leaves the view.
_DENIALS = frozenset({403, 404})


class AuditedAPIMixin:
    """Mixed into the API's base views, before ``APIView``."""

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        django_request = request._request
        user = getattr(django_request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not getattr(django_request, "_istv_audited", False)
            and response.status_code not in _DENIALS
        ):
            match = django_request.resolver_match
            endpoint = match.view_name if match is not None else django_request.path
            with transaction.atomic():
                audit_record(
                    action=Action.API_CALLED,
                    actor=user,
                    details={
                        "endpoint": endpoint,
                        "method": request.method,
                        "status": response.status_code,
                        "rows": _rows(response),
                    },
                    request=django_request,
                )
        return response


def _rows(response: Any) -> int | None:
    """How many items a successful list answer carried (``count`` or ``results``)."""
    data = getattr(response, "data", None)
    if response.status_code != 200 or not isinstance(data, dict):
        return None
    if isinstance(data.get("count"), int):
        return int(data["count"])
    results = data.get("results")
    return len(results) if isinstance(results, list) else None
