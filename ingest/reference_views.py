"""Reference-data pages for data managers (mounted under /submissions/reference/).

Anyone else gets an audited 404. Writes go through ``ingest.reference_services``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.audit.denials import deny
from accounts.models import User
from incidents.models import HarmonisedCode, ValueSynonym
from ingest import reference_services as ref
from ingest import selectors as page_selectors
from ingest.reference_forms import CodeForm, SynonymFilterForm, SynonymForm

SYNONYM_LIMIT = 500


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def reference_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed in and a data manager (404 otherwise), never cached."""

    @wraps(view)
    @login_required
    @never_cache
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not ref.is_reference_editor(_actor(request)):
            deny(request)
        return view(request, *args, **kwargs)

    return wrapper


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context.setdefault("viewer", page_selectors.submission_viewer(_actor(request)))
    return render(request, template, context, status=status)


@reference_page
@require_http_methods(["GET", "POST"])
def reference_codes(request: HttpRequest) -> HttpResponse:
    """Codes by kind; the synonym list (filtered) with the add form."""
    filters = SynonymFilterForm(request.GET or None)
    synonyms = ValueSynonym.objects.all()
    if filters.is_valid():
        if filters.cleaned_data["kind"]:
            synonyms = synonyms.filter(kind=filters.cleaned_data["kind"])
        if filters.cleaned_data["source"] != "*":
            synonyms = synonyms.filter(source=filters.cleaned_data["source"])
    form = SynonymForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ref.value_synonym_add(actor=_actor(request), request=request, **form.cleaned_data)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, "Synonym saved. It applies to files processed from now.")
            return redirect("ingest:reference_codes")
    codes = HarmonisedCode.objects.all()
    return _render(
        request,
        "submissions/reference_codes.html",
        {
            "kinds": [
                (label, [c for c in codes if c.kind == kind])
                for kind, label in HarmonisedCode.Kind.choices
            ],
            "filters": filters,
            "synonyms": synonyms[:SYNONYM_LIMIT],
            "synonym_total": synonyms.count(),
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )


@reference_page
@require_http_methods(["GET", "POST"])
def reference_code_edit(request: HttpRequest, pk: int) -> HttpResponse:
    code = get_object_or_404(HarmonisedCode, pk=pk)
    form = CodeForm(request.POST or None, instance=code)
    if request.method == "POST" and form.is_valid():
        ref.harmonised_code_update(
            actor=_actor(request),
            code=code,
            label=form.cleaned_data["label"],
            description=form.cleaned_data["description"],
            is_active=form.cleaned_data["is_active"],
            request=request,
        )
        messages.success(request, "Category saved.")
        return redirect("ingest:reference_codes")
    # A bound ModelForm writes cleaned values onto the instance: reload for the heading.
    code.refresh_from_db()
    return _render(
        request,
        "submissions/reference_code_edit.html",
        {"code": code, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@reference_page
@require_POST
def reference_synonym_delete(request: HttpRequest, pk: int) -> HttpResponse:
    synonym = get_object_or_404(ValueSynonym, pk=pk)
    ref.value_synonym_delete(actor=_actor(request), synonym=synonym, request=request)
    messages.success(request, "Synonym removed.")
    return redirect("ingest:reference_codes")
