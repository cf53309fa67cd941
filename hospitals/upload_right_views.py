"""The upload-rights screen of access administration (mounted at /manage/upload-rights/).

Which liaison may upload for which hospital site. The screen sits with the other
access-administration screens and, like them, is for GLA access administrators only:
anyone else gets 404 on the page and 403 on a write.
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors as account_selectors
from accounts.models import User
from accounts.views import access_admin_required
from hospitals.forms import UploadRightForm
from hospitals.selectors import hospital_site_get
from hospitals.selectors import upload_rights as site_uploaders
from hospitals.upload_right_services import upload_right_grant, upload_right_revoke


def _actor(request: HttpRequest) -> User:
    """The signed-in user (every caller sits behind ``access_admin_required``)."""
    return cast(User, request.user)


@access_admin_required
@require_http_methods(["GET", "POST"])
def upload_rights(request: HttpRequest) -> HttpResponse:
    form = UploadRightForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            upload_right_grant(
                actor=_actor(request),
                user=form.cleaned_data["user"],
                site=form.cleaned_data["site"],
                request=request,
            )
        except ValidationError as error:
            # A rule only the service can check lands on the form.
            form.add_error(None, error)
        else:
            messages.success(request, "Upload right granted.")
            return redirect("upload_rights:list")
    return render(request, "manage/upload_rights.html", {"form": form, "sites": site_uploaders()})


@access_admin_required
@require_POST
def upload_right_revoke_view(request: HttpRequest, site_pk: int, user_pk: int) -> HttpResponse:
    site = hospital_site_get(pk=site_pk)
    person = account_selectors.user_get(pk=user_pk)
    upload_right_revoke(actor=_actor(request), user=person, site=site, request=request)
    messages.success(request, f"Upload right for {site.site_code} removed from {person.email}.")
    return redirect("upload_rights:list")
