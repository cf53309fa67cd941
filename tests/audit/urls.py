"""Views that deny in each way the portal can, mounted beside the real URLs for the tests."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit.denials import get_in_scope_or_404, record_denial
from accounts.models import Organisation
from istv_portal.urls import urlpatterns as portal_urlpatterns


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def forbidden_response(request: HttpRequest) -> HttpResponse:
    return HttpResponseForbidden("no")


def recorded_by_view(request: HttpRequest) -> HttpResponse:
    record_denial(request, status=403)
    return HttpResponseForbidden("no")


def organisation_in_scope(request: HttpRequest, pk: int) -> HttpResponse:
    # Stands in for a view whose scoped queryset excludes every inactive organisation.
    organisation = get_in_scope_or_404(Organisation.objects.filter(is_active=True), pk=pk)
    return HttpResponse(organisation.name)


def missing(request: HttpRequest) -> HttpResponse:
    raise Http404("nothing here")


class OrganisationApi(APIView):
    permission_classes: list = []

    def get(self, request: Request, pk: int) -> Response:
        organisation = get_in_scope_or_404(Organisation.objects.filter(is_active=True), pk=pk)
        return Response({"name": organisation.name})


class ForbiddenApi(APIView):
    permission_classes: list = []

    def get(self, request: Request) -> Response:
        raise PermissionDenied


urlpatterns = [
    path("t/forbidden/", forbidden),
    path("t/forbidden-response/", forbidden_response),
    path("t/recorded-by-view/", recorded_by_view),
    path("t/organisations/<int:pk>/", organisation_in_scope),
    path("t/missing/", missing),
    path("t/api/organisations/<int:pk>/", OrganisationApi.as_view()),
    path("t/api/forbidden/", ForbiddenApi.as_view()),
    *portal_urlpatterns,
]
