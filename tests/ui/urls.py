"""Test-only URL configuration: the portal's URLs plus

- every navigation section (stub views), so the header's role rules can be tested
  before the sections' own views exist;
- a view that queues messages, one that raises and one with a nonce'd inline script,
  for the layout, 500 and CSP tests.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template import RequestContext, Template
from django.urls import include, path

from istv_portal.urls import urlpatterns as portal_urlpatterns

STUBBED_NAMESPACES = {"accounts", "audit", "incidents", "hospitals"}
CRASH_MESSAGE = "secret-detail-that-must-not-leak"


def _stub(request: HttpRequest) -> HttpResponse:
    return HttpResponse("stub")


def _section(app_name: str, *names: str) -> tuple[list[object], str]:
    return [path(f"{name}/", _stub, name=name) for name in names], app_name


def queue_messages(request: HttpRequest) -> HttpResponse:
    messages.success(request, "Grant saved.")
    messages.info(request, "Nothing changed.")
    return redirect("home")


def nonce_page(request: HttpRequest) -> HttpResponse:
    template = Template('<script nonce="{{ request.csp_nonce }}">window.ok = 1;</script>')
    return HttpResponse(template.render(RequestContext(request)))


def crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(CRASH_MESSAGE)


urlpatterns = [
    p for p in portal_urlpatterns if getattr(p, "namespace", None) not in STUBBED_NAMESPACES
] + [
    path(
        "x/incidents/",
        include(_section("incidents", "explore", "dashboard", "transparency", "monitoring_list")),
    ),
    path("x/hospitals/", include(_section("hospitals", "submission_list"))),
    path("x/manage/", include(_section("accounts", "index", "token_list"))),
    path("x/audit/", include(_section("audit", "event_list"))),
    path("x/messages/", queue_messages),
    path("x/crash/", crash),
    path("x/nonce/", nonce_page),
]
