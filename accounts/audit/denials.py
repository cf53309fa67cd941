"""Authorisation failures: policy 404s and 403s, each audited exactly once.

Every refusal by policy goes through ``deny`` (or ``get_in_scope_or_404`` for one object
of a scoped queryset): a page, an object or a write the user may not have. The user gets
the same 404 as for a page or object that does not exist (a write may get 403), and
``DeniedRequestAuditMiddleware`` records one ``auth.denied`` event. A plain ``Http404``
for an unknown URL or id is not a denial and is not recorded; never raise one to refuse.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from accounts.audit.models import Action, audit_object_type
from accounts.audit.services import audit_record

logger = logging.getLogger("istv.security")

M = TypeVar("M", bound=Model)
PATH_MAX = 200
OBJECT_ID_MAX = 64
# The object type of a refused page (its object id is the path).
PAGE = "page"


@dataclass
class DenialState:
    """Per-request notes shared by the middleware and code that raises ``OutOfScope``."""

    out_of_scope: OutOfScope | None = None
    recorded: bool = False


# Set by the middleware for the duration of a request. A mutable holder (rather than a
# flag in the contextvar itself) so that a mark made inside a view is seen by the
# middleware even where the view ran in a copied context (DRF, async adapters).
current_denial: ContextVar[DenialState | None] = ContextVar("audit_denial", default=None)


class OutOfScope(Http404):
    """The object exists but is outside the user's scope: answer 404 and audit the denial.

    DRF turns ``Http404`` into a 404 response itself, so the exception also notes itself
    on the current request's ``DenialState`` when raised inside a request.
    """

    def __init__(
        self,
        message: str = "Not found.",
        *,
        object_type: str = "",
        object_id: str | int = "",
    ) -> None:
        super().__init__(message)
        self.object_type = object_type
        self.object_id = str(object_id)[:OBJECT_ID_MAX]
        state = current_denial.get()
        if state is not None:
            state.out_of_scope = self


def deny(
    request: HttpRequest | None = None,
    *,
    object_type: str = PAGE,
    object_id: str | int | None = None,
    status: int = 404,
) -> NoReturn:
    """Refuse by policy: the one way code says "this user may not have this".

    Raises ``OutOfScope``, so the user gets the ordinary 404 (whether the thing exists is
    not revealed) and the middleware writes one ``auth.denied`` event, with reason
    ``out_of_scope``, ``object_type`` and ``object_id``. A refused page is recorded as
    ``page`` with its path. ``status=403`` refuses a write instead (``PermissionDenied``,
    recorded with reason ``forbidden``). Pass model labels, ids and fixed names only,
    never a name, an e-mail address or free text: the event outlives the request.
    """
    if status == 403:
        raise PermissionDenied
    if status != 404:
        raise ValueError(f"a refusal is a 404 or a 403, not {status}")
    if object_id is None:
        object_id = request.path if request is not None and object_type == PAGE else ""
    raise OutOfScope(object_type=object_type, object_id=object_id)


def get_in_scope_or_404(queryset: QuerySet[M], **lookup: Any) -> M:
    """The one object matching ``lookup`` within the already-scoped ``queryset``.

    ``queryset`` must start from a scoped read (for incidents, the one door
    ``incidents.selectors.visible_to``); a miss is answered 404 whether the object is
    absent or merely out of scope. Only the second is a denial, so a miss triggers one
    extra unscoped existence check to tell them apart.
    """
    try:
        return queryset.get(**lookup)
    except ObjectDoesNotExist:
        model = queryset.model
        exists = model._default_manager.filter(**lookup).exists()
        if not exists:
            raise Http404("Not found.") from None
        object_id = lookup.get("pk", lookup.get("id", next(iter(lookup.values()), "")))
        raise OutOfScope(object_type=audit_object_type(model), object_id=object_id) from None


def _reason_for(status: int, out_of_scope: OutOfScope | None) -> str:
    return "out_of_scope" if out_of_scope is not None and status == 404 else "forbidden"


def record_denial(
    request: HttpRequest,
    *,
    status: int,
    out_of_scope: OutOfScope | None = None,
) -> None:
    """Write the ``auth.denied`` event and the structured log line, at most once per request.

    Views that deny in their own way may call this directly; the middleware then skips it.
    """
    state = current_denial.get()
    if getattr(request, "_audit_denial_recorded", False) or (state and state.recorded):
        return
    request._audit_denial_recorded = True  # type: ignore[attr-defined]
    if state is not None:
        state.recorded = True
    user = getattr(request, "user", None)
    actor = user if user is not None and user.is_authenticated else None
    match = getattr(request, "resolver_match", None)
    reason = _reason_for(status, out_of_scope)
    details = {
        "status": status,
        "reason": reason,
        "method": request.method,
        # The path only: query strings can carry tokens and free text.
        "path": request.path[:PATH_MAX],
        "view": match.view_name if match is not None else "",
    }
    object_type = out_of_scope.object_type if out_of_scope is not None else ""
    object_id = out_of_scope.object_id if out_of_scope is not None else ""
    logger.warning(
        "request denied",
        extra={
            "event": "auth.denied",
            "status": status,
            "reason": reason,
            "method": request.method,
            "path": details["path"],
            "view": details["view"],
            "user_id": actor.pk if actor is not None else None,
            "object_type": object_type,
            "object_id": object_id,
        },
    )
    audit_record(
        action=Action.ACCESS_DENIED,
        actor=actor,
        object_type=object_type,
        object_id=object_id,
        details=details,
        request=request,
    )
