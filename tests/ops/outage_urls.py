"""Test-only URLs: views that fail as a database outage or a bug would."""

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import path

SECRET_DETAIL = "connection to server at 10.9.8.7 failed: password for istv_app"


def outage(request: HttpRequest) -> HttpResponse:
    raise OperationalError(SECRET_DETAIL)


def bug(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(SECRET_DETAIL)


urlpatterns = [path("outage/", outage), path("bug/", bug)]
handler500 = "istv_portal.errors.server_error"
