"""Home, invitations, personal API tokens and the access-administration screens.

Views are thin: forms validate, ``accounts.services`` writes, ``accounts.selectors``
reads. Administration pages are for access administrators at the GLA: anyone else gets
404 on a page (its existence is not revealed) and 403 on a write.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from allauth.account.internal.flows.login import record_authentication
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors, services
from accounts.access import effective_access
from accounts.audit import patterns
from accounts.audit.denials import deny
from accounts.audit.models import Action, QueryPatternFlag
from accounts.audit.services import audit_record
from accounts.forms import (
    ApiTokenForm,
    GrantForm,
    InviteForm,
    MembershipForm,
    OptionalReasonForm,
    OrganisationForm,
    ReasonForm,
    SetPasswordForm,
)
from accounts.geography import LONDON_BOROUGHS
from accounts.models import AccessGrant, Organisation, User

PAGE_SIZE = 50
UNMATCHED_SHOWN = 100
INVITATION_SESSION_KEY = "istv_invitation_token"
T = TypeVar("T")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    access = effective_access(_actor(request))
    # Each visible borough with its level, so mixed access (records in some boroughs,
    # counts in others) is spelled out rather than summed up as "counts only".
    borough_levels = [
        (name, access.level_for(code))
        for code, name in LONDON_BOROUGHS.items()
        if code in access.boroughs
    ]
    return render(
        request,
        "home.html",
        {
            "access": access,
            "borough_levels": borough_levels,
            "record_borough_names": [
                name for name, level in borough_levels if level == AccessGrant.Level.RECORD
            ],
        },
    )


def access_admin_required(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Only GLA access administrators; others get 404 on pages and 403 on writes."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not selectors.is_access_admin(request.user):
            deny(request, status=403 if request.method == "POST" else 404)
        return view(request, *args, **kwargs)

    return wrapper


def _form_page(
    request: HttpRequest,
    form: Any,
    *,
    title: str,
    submit: str,
    back: str,
    intro: str = "",
    danger: bool = False,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": title,
            "submit": submit,
            "back": back,
            "intro": intro,
            "danger": danger,
        },
        status=status,
    )


def _actor(request: HttpRequest) -> User:
    """The signed-in user (every caller sits behind ``login_required``)."""
    return cast(User, request.user)


def _submit(request: HttpRequest, form: Any, call: Callable[[dict[str, Any]], T]) -> T | None:
    """For a valid POST, ``call(cleaned_data)``; ``None`` if nothing was done.

    A ``ValidationError`` from the service (a rule only it can check) lands on the form.
    """
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return call(form.cleaned_data)
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, error)
        return None


@access_admin_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return redirect("accounts:user_list")


# --- invitations (public: the invitee is not signed in yet) ------------------------------


def _invitation_invalid(request: HttpRequest) -> HttpResponse:
    # One page for unknown, used and expired links: nothing about the account leaks.
    return render(request, "manage/invitation_invalid.html", status=404)


@require_GET
def invitation_open(request: HttpRequest, token: str) -> HttpResponse:
    """Check the link, then move the token out of the URL into the session."""
    if services.invitation_find_usable(token=token) is None:
        return _invitation_invalid(request)
    if request.user.is_authenticated:
        logout(request)
    request.session[INVITATION_SESSION_KEY] = token
    return redirect("accounts:invitation_accept")


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest) -> HttpResponse:
    token = request.session.get(INVITATION_SESSION_KEY, "")
    invitation = services.invitation_find_usable(token=token)
    if invitation is None:
        return _invitation_invalid(request)
    form = SetPasswordForm(invitation.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.invitation_accept(
            token=token, password=form.cleaned_data["password1"], request=request
        )
        if user is None:
            return _invitation_invalid(request)
        request.session.pop(INVITATION_SESSION_KEY, None)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        # The password was set a moment ago through the one-time link: that is the
        # recent authentication allauth asks for before MFA enrolment, so the invitee
        # is not made to type it again on the next page.
        record_authentication(
            request, user, method="password", email=user.email, reauthenticated=True
        )
        return redirect("mfa_activate_totp")
    return render(
        request, "manage/invitation_accept.html", {"form": form, "invitee": invitation.user}
    )


# --- personal API tokens (any signed-in, MFA-verified person) ----------------------------


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    form = ApiTokenForm(request.POST or None)
    new_key = ""
    created = _submit(
        request,
        form,
        lambda data: services.api_token_create(actor=user, request=request, **data),
    )
    if created is not None:
        new_key = created.key
        form = ApiTokenForm()
    response = render(
        request,
        "manage/tokens.html",
        {
            "form": form,
            "new_key": new_key,
            "tokens": selectors.user_api_tokens(user=user)[:100],
            "now": timezone.now(),
        },
    )
    # The key is shown once: keep it out of every cache.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user = _actor(request)
    token = selectors.user_api_token_get(user=user, pk=pk)
    services.api_token_revoke(actor=user, token=token, request=request)
    messages.success(request, f"Token {token.name} revoked.")
    return redirect("accounts:token_list")


# --- people ----------------------------------------------------------------------------


@access_admin_required
@require_GET
def user_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "")
    if status not in User.Status.values:
        status = ""
    page = Paginator(selectors.user_list(search=search, status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "manage/user_list.html",
        {
            "page": page,
            "q": search,
            "status": status,
            "statuses": User.Status.choices,
            "query": urlencode({"q": search, "status": status}) + "&",
        },
    )


@access_admin_required
@require_http_methods(["GET", "POST"])
def user_invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    sent = _submit(
        request,
        form,
        lambda data: services.user_invite(actor=_actor(request), request=request, **data),
    )
    if sent is not None:
        messages.success(request, f"Invitation sent to {sent.invitation.user.email}.")
        return redirect("accounts:user_detail", pk=sent.invitation.user_id)
    return _form_page(
        request,
        form,
        title="Invite a person",
        submit="Send invitation",
        back=reverse("accounts:user_list"),
        intro="They receive a one-time link to set a password, then set up two-factor "
        "authentication. Links expire; inviting again replaces an earlier link.",
    )


@access_admin_required
@require_GET
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.user_get(pk=pk)
    rows = selectors.access_review(users=[person])
    return render(request, "manage/user_detail.html", {"person": person, "row": rows[0]})


@access_admin_required
@require_http_methods(["GET", "POST"])
def user_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.user_get(pk=pk)
    form = OptionalReasonForm(request.POST or None)
    done = _submit(
        request,
        form,
        lambda data: services.user_deactivate(
            actor=_actor(request), user=person, request=request, **data
        ),
    )
    if done is not None:
        messages.success(request, f"{person.email} deactivated.")
        return redirect("accounts:user_detail", pk=person.pk)
    return _form_page(
        request,
        form,
        title=f"Deactivate {person.email}",
        submit="Deactivate",
        back=reverse("accounts:user_detail", kwargs={"pk": person.pk}),
        intro="They are signed out at once and their API tokens stop working.",
        danger=True,
    )


@access_admin_required
@require_POST
def user_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.user_get(pk=pk)
    services.user_reactivate(actor=_actor(request), user=person, request=request)
    messages.success(request, f"{person.email} reactivated.")
    return redirect("accounts:user_detail", pk=person.pk)


# --- organisations and memberships -----------------------------------------------------


@access_admin_required
@require_GET
def organisation_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    if kind not in Organisation.Kind.values:
        kind = ""
    return render(
        request,
        "manage/organisation_list.html",
        {
            "organisations": selectors.organisation_list(kind=kind),
            "kind": kind,
            "kinds": Organisation.Kind.choices,
        },
    )


@access_admin_required
@require_http_methods(["GET", "POST"])
def organisation_create(request: HttpRequest) -> HttpResponse:
    form = OrganisationForm(request.POST or None)
    organisation = _submit(
        request,
        form,
        lambda data: services.organisation_create(
            actor=_actor(request),
            request=request,
            **{k: v for k, v in data.items() if k != "is_active"},
        ),
    )
    if organisation is not None:
        return redirect("accounts:organisation_detail", pk=organisation.pk)
    form.fields.pop("is_active", None)
    return _form_page(
        request,
        form,
        title="New organisation",
        submit="Create organisation",
        back=reverse("accounts:organisation_list"),
    )


@access_admin_required
@require_GET
def organisation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = selectors.organisation_get(pk=pk)
    return render(
        request,
        "manage/organisation_detail.html",
        {
            "organisation": organisation,
            "memberships": selectors.organisation_memberships(organisation=organisation),
            "grants": selectors.grant_list(organisation=organisation, include_ended=True)[:200],
            "today": timezone.localdate(),
        },
    )


@access_admin_required
@require_http_methods(["GET", "POST"])
def organisation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = selectors.organisation_get(pk=pk)
    form = OrganisationForm(request.POST or None, instance=selectors.organisation_get(pk=pk))
    changed = _submit(
        request,
        form,
        lambda data: services.organisation_update(
            actor=_actor(request), organisation=organisation, request=request, **data
        ),
    )
    if changed is not None:
        return redirect("accounts:organisation_detail", pk=organisation.pk)
    return _form_page(
        request,
        form,
        title=f"Edit {organisation.name}",
        submit="Save changes",
        back=reverse("accounts:organisation_detail", kwargs={"pk": organisation.pk}),
        intro="Deactivating an organisation ends its members' access at once.",
    )


@login_required
@require_GET
def my_organisation(request: HttpRequest) -> HttpResponse:
    """An organisation lead's way in: the people of the (first) organisation they lead."""
    led = sorted(selectors.led_organisation_ids(_actor(request)))
    if not led:
        deny(request)
    return redirect("accounts:organisation_people", pk=led[0])


@login_required
@require_GET
def organisation_people(request: HttpRequest, pk: int) -> HttpResponse:
    """An organisation's people: access administrators, and that organisation's leads."""
    organisation, people = selectors.organisation_people(
        viewer=_actor(request),
        organisation_pk=pk,
    )
    return render(
        request,
        "manage/organisation_people.html",
        {"organisation": organisation, "people": people},
    )


@access_admin_required
@require_http_methods(["GET", "POST"])
def membership_add(request: HttpRequest) -> HttpResponse:
    initial = {
        k: request.GET[k] for k in ("user", "organisation") if request.GET.get(k, "").isdigit()
    }
    form = MembershipForm(request.POST or None, initial=initial)
    membership = _submit(
        request,
        form,
        lambda data: services.membership_add(
            actor=_actor(request),
            user=data["user"],
            organisation=data["organisation"],
            request=request,
            **form.narrowing(),
        ),
    )
    if membership is not None:
        return redirect("accounts:organisation_detail", pk=membership.organisation_id)
    return _form_page(
        request, form, title="Add a membership", submit="Add", back=reverse("accounts:user_list")
    )


@access_admin_required
@require_http_methods(["GET", "POST"])
def membership_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = selectors.membership_get(pk=pk)
    form = MembershipForm(request.POST or None, instance=selectors.membership_get(pk=pk))
    changed = _submit(
        request,
        form,
        lambda data: services.membership_update(
            actor=_actor(request), membership=membership, request=request, **form.narrowing()
        ),
    )
    if changed is not None:
        return redirect("accounts:organisation_detail", pk=membership.organisation_id)
    return _form_page(
        request,
        form,
        title=f"{membership.user.email} at {membership.organisation.name}",
        submit="Save changes",
        back=reverse("accounts:organisation_detail", kwargs={"pk": membership.organisation_id}),
        intro="Narrowing can only take away from what the organisation's grants allow.",
    )


@access_admin_required
@require_http_methods(["GET", "POST"])
def membership_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = selectors.membership_get(pk=pk)
    if request.method == "POST":
        services.membership_remove(actor=_actor(request), membership=membership, request=request)
        messages.success(request, "Membership removed.")
        return redirect("accounts:organisation_detail", pk=membership.organisation_id)
    return render(request, "manage/membership_remove.html", {"membership": membership})


# --- access grants ----------------------------------------------------------------------


def _unmatched_grants() -> dict[str, Any]:
    """The grants naming no registered agreement, for the notice on the grant pages."""
    grants = selectors.grants_without_agreement()
    shown = list(grants[:UNMATCHED_SHOWN])
    count = len(shown) if len(shown) < UNMATCHED_SHOWN else grants.count()
    return {"unmatched": shown, "unmatched_count": count}


@access_admin_required
@require_GET
def grant_list(request: HttpRequest) -> HttpResponse:
    include_ended = request.GET.get("ended") == "1"
    page = Paginator(selectors.grant_list(include_ended=include_ended), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "manage/grant_list.html",
        {
            **_unmatched_grants(),
            "page": page,
            "include_ended": include_ended,
            "today": timezone.localdate(),
            "query": "ended=1&" if include_ended else "",
        },
    )


@access_admin_required
@require_http_methods(["GET", "POST"])
def grant_create(request: HttpRequest, organisation_pk: int) -> HttpResponse:
    organisation = selectors.organisation_get(pk=organisation_pk)
    form = GrantForm(request.POST or None, instance=AccessGrant(organisation=organisation))
    created = _submit(
        request,
        form,
        lambda data: services.grant_create(
            actor=_actor(request), organisation=organisation, request=request, **form.grant_values()
        ),
    )
    if created is not None:
        messages.success(request, f"Access granted to {organisation.name}.")
        return redirect("accounts:organisation_detail", pk=organisation.pk)
    return _form_page(
        request,
        form,
        title=f"Grant access to {organisation.name}",
        submit="Grant access",
        back=reverse("accounts:organisation_detail", kwargs={"pk": organisation.pk}),
    )


@access_admin_required
@require_http_methods(["GET", "POST"])
def grant_edit(request: HttpRequest, pk: int) -> HttpResponse:
    grant = selectors.grant_get(pk=pk)
    if grant.revoked_at is not None:
        raise Http404
    form = GrantForm(request.POST or None, instance=selectors.grant_get(pk=pk))
    changed = _submit(
        request,
        form,
        lambda data: services.grant_update(
            actor=_actor(request), grant=grant, request=request, **form.grant_values()
        ),
    )
    if changed is not None:
        messages.success(request, "Grant updated.")
        return redirect("accounts:organisation_detail", pk=grant.organisation_id)
    return _form_page(
        request,
        form,
        title=f"Change access for {grant.organisation.name}",
        submit="Save changes",
        back=reverse("accounts:organisation_detail", kwargs={"pk": grant.organisation_id}),
    )


@access_admin_required
@require_http_methods(["GET", "POST"])
def grant_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    grant = selectors.grant_get(pk=pk)
    if grant.revoked_at is not None:
        raise Http404
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.grant_revoke(
            actor=_actor(request),
            grant=grant,
            reason=form.cleaned_data["reason"],
            request=request,
        )
        messages.success(request, f"Access revoked for {grant.organisation.name}.")
        return redirect("accounts:organisation_detail", pk=grant.organisation_id)
    return _form_page(
        request,
        form,
        title=f"Revoke access for {grant.organisation.name}",
        submit="Revoke access",
        back=reverse("accounts:organisation_detail", kwargs={"pk": grant.organisation_id}),
        intro=f"{grant}. Everyone in the organisation is signed out at once.",
        danger=True,
    )


# --- access review ------------------------------------------------------------------------


@access_admin_required
@require_GET
def access_review(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.user_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "manage/access_review.html",
        {
            **_unmatched_grants(),
            "page": page,
            "rows": selectors.access_review(users=page.object_list),
            "expiring": selectors.grants_expiring(),
            "expiry_days": selectors.ACCESS_REVIEW_EXPIRY_DAYS,
            "pattern_flags": patterns.open_flags(),
            "pattern_queries": settings.AGGREGATE_PATTERN_QUERIES,
            "pattern_minutes": settings.AGGREGATE_PATTERN_MINUTES,
        },
    )


@access_admin_required
@require_POST
def pattern_flag_review(request: HttpRequest, pk: int) -> HttpResponse:
    flag = QueryPatternFlag.objects.select_related("user").filter(pk=pk).first()
    if flag is None:
        raise Http404
    patterns.pattern_flag_review(actor=_actor(request), flag=flag, request=request)
    messages.success(request, f"Query pattern of {flag.user.email} marked as reviewed.")
    return redirect(f"{reverse('accounts:access_review')}#query-patterns")


@access_admin_required
@require_GET
def access_review_csv(request: HttpRequest) -> StreamingHttpResponse:
    audit_record(
        action=Action.ACCESS_REVIEW_EXPORTED,
        actor=_actor(request),
        details={"row_count": selectors.user_list().count(), "format": "csv"},
        request=request,
    )
    response = StreamingHttpResponse(
        selectors.access_review_csv_lines(), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="access-review-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
