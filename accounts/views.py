from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import effective_access


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"access": effective_access(request.user)})
