"""Alerts on saved queries: the signed-in user's list, subscribe and stop, and the
e-mail's one-click stop link (docs/alerts.md)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.audit.denials import deny, get_in_scope_or_404
from incidents.alert_digests import (
    alert_stop,
    alert_subscribe,
    subscriptions_by_tokens,
    subscriptions_of,
)
from incidents.models import AlertSubscription
from incidents.selectors import saved_queries_visible_to
from incidents.views.common import data_access_or_404, request_user

# Where a form may send the user back to (names, never addresses: no open redirect).
RETURN_TO = {"alerts": "incidents:alert_list", "saved": "incidents:saved_query_list"}


def _back(request: HttpRequest) -> HttpResponse:
    return redirect(RETURN_TO.get(request.POST.get("next", ""), "incidents:alert_list"))


@login_required
@never_cache
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    data_access_or_404(request)
    return render(
        request,
        "incidents/alert_list.html",
        {"subscriptions": list(subscriptions_of(request_user(request)))},
    )


@login_required
@require_POST
def alert_subscribe_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Start alerts on a saved query the user can open; any other answers 404."""
    data_access_or_404(request)
    user = request_user(request)
    saved = get_in_scope_or_404(saved_queries_visible_to(user), pk=pk)
    alert_subscribe(actor=user, saved_query=saved, request=request)
    messages.success(
        request,
        f"Alerts started for \u201c{saved.name}\u201d. You will get an e-mail when a new "
        "release shows it well above what its history leads us to expect.",
    )
    return _back(request)


@login_required
@require_POST
def alert_stop_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop one of the user's own subscriptions; anyone else's answers 404."""
    user = request_user(request)
    subscription = get_in_scope_or_404(
        AlertSubscription.objects.filter(user=user).select_related("saved_query"), pk=pk
    )
    alert_stop(subscription=subscription, actor=user, via="page", request=request)
    messages.success(request, f"Alerts stopped for \u201c{subscription.saved_query.name}\u201d.")
    return _back(request)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def alert_stop_link(request: HttpRequest) -> HttpResponse:
    """The e-mail's stop link: the secret token in it is the proof, so no sign-in is
    needed. GET (the link) and POST (a mail program's one-click unsubscribe, RFC 8058)
    both stop; following it again answers the same. Unknown tokens answer 404, recorded
    as a denial (someone guessing tokens shows in the audit log)."""
    subscriptions = subscriptions_by_tokens(request.GET.getlist("token"))
    if not subscriptions:
        deny(request, object_type="incidents.alertsubscription")
    stopped = 0
    for subscription in subscriptions:
        if alert_stop(subscription=subscription, actor=None, via="link", request=request):
            stopped += 1
    return render(
        request,
        "incidents/alert_stopped.html",
        {"count": len(subscriptions), "stopped_now": stopped},
    )
