"""Addresses at the site root that browsers and govuk-frontend's CSS ask for, answered
with a redirect to the collected static file.

``/favicon.ico``: browsers and other clients ask for it on their own, whatever the page's
``<link rel="icon">`` says; the portal's icon is the SVG in ``static/images``.

``/assets/images/…``: govuk-frontend's compiled CSS names its images at ``/assets/``
(its default ``$govuk-assets-path``), while the package is collected under ``govuk/`` in
the static files. Redirects are temporary: the hashed static names change with every
release.

``/assets/fonts/…`` is deliberately not answered. The GDS Transport typeface is licensed
for GOV.UK services only, so the portal's stylesheet keeps every element on the system
font stack and no page asks for those fonts; the every-page browser test checks that
none is requested.
"""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.views.decorators.http import require_safe

FAVICON = "images/favicon.svg"
GOVUK_ASSETS = "govuk/assets/"
# The folder of govuk-frontend's CSS the portal answers (fonts are not served, see above).
GOVUK_ASSET_PATTERN = r"^assets/(?P<name>images/[\w.-]+)$"


@require_safe
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    return HttpResponseRedirect(static(FAVICON))


@require_safe
def govuk_asset(request: HttpRequest, name: str) -> HttpResponseRedirect:
    static_name = GOVUK_ASSETS + name
    if not staticfiles_storage.exists(static_name) and finders.find(static_name) is None:
        raise Http404("No such govuk-frontend asset.")
    return HttpResponseRedirect(static(static_name))
