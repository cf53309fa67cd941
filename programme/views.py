"""Pages of the programme tools (mounted at /programme/).

Thin: forms validate, ``programme.services`` writes, ``programme.selectors`` reads. A page
someone may not use answers 404 (its existence is not revealed) and a write 403; another
hospital's feedback or an unpublished case study is an audited 404 (``OutOfScope``).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import roles
from accounts.audit.denials import OutOfScope, deny, get_in_scope_or_404
from accounts.audit.models import Action, audit_object_type
from accounts.audit.services import audit_record
from accounts.geography import LONDON_BOROUGHS
from accounts.models import DataSharingAgreement, User
from accounts.services import AGREEMENT_FIELDS
from hospitals.models import HospitalSite
from incidents.models import Release, ReleaseNote
from istv_portal import private_storage as storage
from istv_portal.markdown import render_markdown
from istv_portal.spreadsheet import EchoBuffer, neutralise_cell
from programme import forms, impact, selectors, services
from programme.models import CaseStudy, CaseStudyImage

View = Callable[..., HttpResponseBase]


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _requires(check: Callable[[Any], bool]) -> Callable[[View], View]:
    """Signed in (MFA is enforced by middleware) and passing ``check``; else 404 / 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        @login_required
        @never_cache
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not check(request.user):
                deny(request, status=403 if request.method == "POST" else 404)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


member_required = _requires(roles.is_member)
agreement_manager_required = _requires(roles.may_manage_agreements)
data_manager_required = _requires(roles.is_data_manager)
programme_team_required = _requires(roles.is_programme_team)


def _apply_errors(form: Any, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errs in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errs)
    else:
        form.add_error(None, error.messages)


def _form_page(request: HttpRequest, form: Any, *, title: str, submit: str, back: str,
               intro: str = "", danger: bool = False) -> HttpResponse:  # fmt: skip
    return render(
        request,
        "programme/form_page.html",
        {
            "form": form,
            "title": title,
            "submit": submit,
            "back": back,
            "intro": intro,
            "danger": danger,
        },
    )


# --- agreements -------------------------------------------------------------------------


@agreement_manager_required
@require_GET
def agreement_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.agreement_register()
    due = [row for row in rows if row.due]
    return render(request, "programme/agreement_list.html", {"rows": rows, "due": due})


def _agreement_values(data: dict[str, Any]) -> dict[str, Any]:
    return {name: data[name] for name in AGREEMENT_FIELDS if name in data}


@agreement_manager_required
@require_http_methods(["GET", "POST"])
def agreement_create(request: HttpRequest) -> HttpResponse:
    form = forms.AgreementForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            agreement = services.agreement_create(
                actor=_actor(request),
                providers=list(data["providers"]),
                recipients=list(data["recipients"]),
                document=data.get("document"),
                activate=data["activate"],
                request=request,
                **_agreement_values(data),
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"Agreement {agreement.reference} added to the register.")
            return redirect("programme:agreement_detail", pk=agreement.pk)
    return _form_page(
        request, form, title="Add a data-sharing agreement", submit="Add agreement",
        back=reverse("programme:agreement_list"),
    )  # fmt: skip


def _agreement_or_404(pk: int) -> DataSharingAgreement:
    return get_in_scope_or_404(
        DataSharingAgreement.objects.prefetch_related("providers", "recipients"), pk=pk
    )


@agreement_manager_required
@require_GET
def agreement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _agreement_or_404(pk)
    grants = list(selectors.agreement_grants(agreement))
    sites = HospitalSite.objects.filter(organisation__in=agreement.providers.all()).order_by("name")
    return render(
        request,
        "programme/agreement_detail.html",
        {"agreement": agreement, "grants": grants, "sites": sites, "today": timezone.localdate()},
    )


@agreement_manager_required
@require_http_methods(["GET", "POST"])
def agreement_edit(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _agreement_or_404(pk)
    initial = {
        **{name: getattr(agreement, name) for name in AGREEMENT_FIELDS},
        "providers": list(agreement.providers.all()),
        "recipients": list(agreement.recipients.all()),
        "activate": agreement.status == DataSharingAgreement.Status.ACTIVE,
    }
    form = forms.AgreementForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.agreement_update(
                actor=_actor(request),
                agreement=agreement,
                providers=list(data["providers"]),
                recipients=list(data["recipients"]),
                document=data.get("document"),
                activate=data["activate"],
                request=request,
                **_agreement_values(data),
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Agreement updated.")
            return redirect("programme:agreement_detail", pk=agreement.pk)
    return _form_page(
        request, form, title=f"Change agreement {agreement.reference}", submit="Save changes",
        back=reverse("programme:agreement_detail", args=[agreement.pk]),
    )  # fmt: skip


def _close_view(request: HttpRequest, pk: int, *, ending: bool) -> HttpResponse:
    agreement = _agreement_or_404(pk)
    form = forms.ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        service = services.agreement_end if ending else services.agreement_suspend
        try:
            service(
                actor=_actor(request),
                agreement=agreement,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(
                request,
                f"Agreement {agreement.reference} {'ended' if ending else 'suspended'}; "
                "every access grant under it has been revoked.",
            )
            return redirect("programme:agreement_detail", pk=agreement.pk)
    verb = "End" if ending else "Suspend"
    return _form_page(
        request, form, title=f"{verb} agreement {agreement.reference}", submit=verb, danger=True,
        back=reverse("programme:agreement_detail", args=[agreement.pk]),
        intro="Every access grant under this agreement is revoked at once, and the people "
        "who held it lose access on their next request.",
    )  # fmt: skip


@agreement_manager_required
@require_http_methods(["GET", "POST"])
def agreement_suspend(request: HttpRequest, pk: int) -> HttpResponse:
    return _close_view(request, pk, ending=False)


@agreement_manager_required
@require_http_methods(["GET", "POST"])
def agreement_end(request: HttpRequest, pk: int) -> HttpResponse:
    return _close_view(request, pk, ending=True)


def _attachment_name(reference: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in reference)[:80]
    return f"agreement-{safe or 'document'}.pdf"


@agreement_manager_required
@require_GET
def agreement_document(request: HttpRequest, pk: int) -> HttpResponseBase:
    agreement = _agreement_or_404(pk)
    if not agreement.document_name:
        raise OutOfScope(object_type="agreement_document", object_id=pk)
    path = storage.path_for(agreement.document_name, area=storage.AGREEMENTS)
    audit_record(
        action=Action.AGREEMENT_DOCUMENT_DOWNLOADED,
        actor=_actor(request),
        obj=agreement,
        details={"sha256": agreement.document_sha256},
        request=request,
    )
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=_attachment_name(agreement.reference),
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- release notes ----------------------------------------------------------------------


@member_required
@require_GET
def release_list(request: HttpRequest) -> HttpResponse:
    releases = list(selectors.release_list()[:60])
    return render(
        request,
        "programme/release_list.html",
        {"releases": releases, "is_data_manager": roles.is_data_manager(request.user)},
    )


@member_required
@require_GET
def release_detail(request: HttpRequest, number: int) -> HttpResponse:
    release = get_in_scope_or_404(Release.objects.all(), number=number)
    note = ReleaseNote.objects.filter(release=release).first()
    is_dm = roles.is_data_manager(request.user)
    if note is not None and note.status != ReleaseNote.Status.PUBLISHED and not is_dm:
        note = None
    return render(
        request,
        "programme/release_detail.html",
        {
            "release": release,
            "note": note,
            "html": render_markdown(note.body) if note else "",
            "is_data_manager": is_dm,
        },
    )


@data_manager_required
@require_http_methods(["GET", "POST"])
def release_note_edit(request: HttpRequest, number: int) -> HttpResponse:
    release = get_in_scope_or_404(Release.objects.all(), number=number)
    note = ReleaseNote.objects.filter(release=release).first()
    facts = selectors.release_facts(release)
    initial = {"body": note.body if note else selectors.release_note_prefill(facts, release)}
    form = forms.ReleaseNoteForm(request.POST or None, initial=initial)
    preview = None
    if request.method == "POST" and form.is_valid():
        body = form.cleaned_data["body"]
        if "preview" in request.POST:
            preview = render_markdown(body)
        else:
            try:
                note = services.release_note_save(
                    actor=_actor(request), release=release, body=body, facts=facts,
                    request=request,
                )  # fmt: skip
                if "publish" in request.POST:
                    services.release_note_publish(actor=_actor(request), note=note, request=request)
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                published = note.status == ReleaseNote.Status.PUBLISHED
                messages.success(request, "Release notes published." if published else "Saved.")
                return redirect("programme:release_detail", number=release.number)
    return render(
        request,
        "programme/release_note_edit.html",
        {"release": release, "note": note, "form": form, "facts": facts, "preview": preview},
    )


# --- guidance ---------------------------------------------------------------------------

GUIDANCE_PAGES = {
    "why": "Why ISTV matters",
    "items": "What each item means",
    "locations": "Writing a useful location description",
    "personal-details": "Keeping personal details out",
}


@member_required
@require_GET
def guidance(request: HttpRequest, page: str = "why") -> HttpResponse:
    if page not in GUIDANCE_PAGES:
        raise OutOfScope(object_type="guidance", object_id=page)
    return render(
        request,
        f"programme/guidance/{page.replace('-', '_')}.html",
        {"pages": list(GUIDANCE_PAGES.items()), "current": page, "title": GUIDANCE_PAGES[page]},
    )


# --- feedback for hospitals -------------------------------------------------------------


def _may_see_feedback(user: Any) -> bool:
    return roles.is_data_manager(user) or selectors.feedback_sites_for(user).exists()


feedback_required = _requires(_may_see_feedback)


@feedback_required
@require_GET
def feedback_index(request: HttpRequest) -> HttpResponse:
    sites = list(selectors.feedback_sites_for(_actor(request)))
    if len(sites) == 1:
        return redirect("programme:feedback_site", site_pk=sites[0].pk)
    return render(request, "programme/feedback_index.html", {"sites": sites})


@feedback_required
@require_GET
def feedback_site(request: HttpRequest, site_pk: int) -> HttpResponse:
    site = get_in_scope_or_404(selectors.feedback_sites_for(_actor(request)), pk=site_pk)
    months = selectors.site_feedback(site)
    rows = [
        {
            "month": m.month,
            "total": m.site["total"],
            "cells": [
                (m.site[key], m.share("site", key), m.share("london", key))
                for key, _ in selectors.FEEDBACK_CATEGORIES
            ],
        }
        for m in months
    ]
    chart = {
        "labels": [m.month.strftime("%b %Y") for m in months],
        "series": [
            {
                "label": label,
                "site": [m.share("site", key) for m in months],
                "london": [m.share("london", key) for m in months],
            }
            for key, label in selectors.FEEDBACK_CATEGORIES
        ],
    }
    return render(
        request,
        "programme/feedback_site.html",
        {
            "site": site,
            "rows": rows,
            "categories": selectors.FEEDBACK_CATEGORIES,
            "chart": chart,
        },
    )


# --- case studies -----------------------------------------------------------------------


@member_required
@require_GET
def case_study_list(request: HttpRequest) -> HttpResponse:
    form = forms.CaseStudyFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    studies = list(
        selectors.case_study_search(
            _actor(request),
            text=filters.get("q", ""),
            borough=filters.get("borough", ""),
            theme=filters.get("theme", ""),
        )[:100]
    )
    return render(
        request,
        "programme/case_study_list.html",
        {
            "form": form,
            "studies": studies,
            "may_author": bool(roles.case_study_author_organisations(request.user)),
            "boroughs": LONDON_BOROUGHS,
        },
    )


def _case_study_or_404(request: HttpRequest, pk: int) -> CaseStudy:
    return get_in_scope_or_404(selectors.case_studies_visible_to(_actor(request)), pk=pk)


@member_required
@require_GET
def case_study_detail(request: HttpRequest, pk: int) -> HttpResponse:
    study = _case_study_or_404(request, pk)
    user = _actor(request)
    chart = selectors.case_study_chart(study, user)
    chart_rows = [(r[study.chart_group_by], r["count"]) for r in chart.results] if chart else []
    return render(
        request,
        "programme/case_study_detail.html",
        {
            "study": study,
            "html": render_markdown(study.body),
            "images": list(study.images.all()),
            "chart": chart,
            "chart_rows": chart_rows,
            # Suppressed counts ("*") are gaps in the chart; the table shows them as "*".
            "chart_data": {
                "labels": [str(label or "Not known") for label, _count in chart_rows],
                "counts": [count if isinstance(count, int) else None for _l, count in chart_rows],
            },
            "borough_names": [LONDON_BOROUGHS.get(c, c) for c in study.boroughs],
            "theme_names": [CaseStudy.Theme(t).label for t in study.themes],
            "is_author": study.author_id == user.pk,
            "may_review": roles.is_data_manager(user)
            and study.author_id != user.pk
            and study.status == CaseStudy.Status.IN_REVIEW,
            "return_form": forms.ReturnForm(),
            "image_form": forms.CaseStudyImageForm(),
        },
    )


def _may_author(user: Any) -> bool:
    return bool(roles.case_study_author_organisations(user))


@_requires(_may_author)
@require_http_methods(["GET", "POST"])
def case_study_create(request: HttpRequest) -> HttpResponse:
    orgs = roles.case_study_author_organisations(request.user)
    form = forms.CaseStudyForm(request.POST or None, organisation_ids=orgs, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            study = services.case_study_create(
                actor=_actor(request),
                organisation=data["organisation"],
                request=request,
                **{name: data[name] for name in services.CASE_STUDY_FIELDS},
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            return redirect("programme:case_study_detail", pk=study.pk)
    return _form_page(
        request, form, title="Write a case study", submit="Save draft",
        back=reverse("programme:case_study_list"),
    )  # fmt: skip


@member_required
@require_http_methods(["GET", "POST"])
def case_study_edit(request: HttpRequest, pk: int) -> HttpResponse:
    study = _case_study_or_404(request, pk)
    if study.author_id != request.user.pk or study.status != CaseStudy.Status.DRAFT:
        deny(
            request,
            object_type=audit_object_type(study),
            object_id=study.pk,
            status=403 if request.method == "POST" else 404,
        )
    initial = {name: getattr(study, name) for name in services.CASE_STUDY_FIELDS}
    initial["organisation"] = study.organisation
    form = forms.CaseStudyForm(
        request.POST or None,
        initial=initial,
        organisation_ids={study.organisation_id},
        user=request.user,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.case_study_update(
                actor=_actor(request),
                case_study=study,
                request=request,
                **{name: data[name] for name in services.CASE_STUDY_FIELDS},
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            return redirect("programme:case_study_detail", pk=study.pk)
    return _form_page(
        request, form, title="Change case study", submit="Save draft",
        back=reverse("programme:case_study_detail", args=[study.pk]),
    )  # fmt: skip


@member_required
@require_POST
def case_study_transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    study = _case_study_or_404(request, pk)
    actor = _actor(request)
    try:
        if action == "submit":
            services.case_study_submit(actor=actor, case_study=study, request=request)
            messages.success(request, "Sent for review by a data manager.")
        elif action == "publish":
            services.case_study_publish(actor=actor, case_study=study, request=request)
            messages.success(request, "Case study published.")
        elif action == "return":
            form = forms.ReturnForm(request.POST)
            comment = form.cleaned_data["comment"] if form.is_valid() else ""
            services.case_study_return(
                actor=actor, case_study=study, comment=comment, request=request
            )
            messages.success(request, "Returned to the author.")
        else:
            raise PermissionDenied
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("programme:case_study_detail", pk=study.pk)


@member_required
@require_POST
def case_study_image_add(request: HttpRequest, pk: int) -> HttpResponse:
    study = _case_study_or_404(request, pk)
    form = forms.CaseStudyImageForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose an image and describe it.")
    else:
        try:
            services.case_study_image_add(
                actor=_actor(request),
                case_study=study,
                upload=form.cleaned_data["image"],
                alt_text=form.cleaned_data["alt_text"],
                request=request,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
    return redirect("programme:case_study_detail", pk=study.pk)


@member_required
@require_GET
def case_study_image(request: HttpRequest, pk: int, image_pk: int) -> HttpResponseBase:
    study = _case_study_or_404(request, pk)
    image = get_in_scope_or_404(CaseStudyImage.objects.filter(case_study=study), pk=image_pk)
    response = FileResponse(
        storage.path_for(image.stored_name, area=storage.CASE_STUDY_IMAGES).open("rb"),
        content_type=image.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- impact dashboard -------------------------------------------------------------------


@programme_team_required
@require_GET
def impact_dashboard(request: HttpRequest) -> HttpResponse:
    report = impact.impact_report(months=12)
    return render(request, "programme/impact.html", {"report": report})


@programme_team_required
@require_GET
def impact_csv(request: HttpRequest) -> StreamingHttpResponse:
    report = impact.impact_report(months=12)
    rows = impact.report_csv_rows(report)
    services.impact_export_record(
        actor=_actor(request), months=12, rows=len(rows) - 1, request=request
    )

    writer = csv.writer(EchoBuffer())

    def _lines() -> Iterator[str]:
        for row in rows:
            yield writer.writerow([neutralise_cell(cell) for cell in row])

    response = StreamingHttpResponse(_lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="istv-impact.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
