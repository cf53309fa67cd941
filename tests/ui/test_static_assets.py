"""Addresses browsers and stylesheets ask for on their own resolve: /favicon.ico, and every
url() in the stylesheets the pages link, except govuk-frontend's GDS Transport fonts, which
the portal may not use (the typeface is licensed for GOV.UK services only) and so never
serves."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client, override_settings

pytestmark = [
    pytest.mark.django_db,
    # Static files answered from the finders, as in development (no collectstatic here).
    pytest.mark.usefixtures("_static_from_finders"),
]

CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")
FONT_SUFFIXES = (".woff", ".woff2")
# Every stylesheet a page links: govuk-frontend's, Leaflet's and the portal's own.
STYLESHEETS = (
    "govuk/govuk-frontend.min.css",
    "leaflet/leaflet.css",
    *sorted(
        path.relative_to(Path(settings.BASE_DIR) / "static").as_posix()
        for path in (Path(settings.BASE_DIR) / "static").rglob("*.css")
    ),
)
MAX_REDIRECTS = 2


@pytest.fixture
def _static_from_finders():
    with override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True):
        yield


def _follow(client: Client, url: str) -> tuple[int, str]:
    """The final status and path after at most a couple of redirects."""
    response = client.get(url)
    for _ in range(MAX_REDIRECTS):
        if response.status_code not in (301, 302):
            break
        url = response["Location"]
        response = client.get(url)
    return response.status_code, urlsplit(url).path


def _static_name(path: str) -> str:
    assert path.startswith(settings.STATIC_URL), f"{path} is not a static file"
    return path.removeprefix(settings.STATIC_URL)


def test_favicon_ico_resolves_to_the_portal_icon() -> None:
    client = Client()
    status, path = _follow(client, "/favicon.ico")
    assert status == 200
    assert finders.find(_static_name(path)) is not None
    assert client.get(path)["Content-Type"].startswith("image/")


def test_pages_link_an_icon(client: Client) -> None:
    page = client.get("/accounts/login/").content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page)
    assert icon is not None
    assert _follow(Client(), icon.group(1))[0] == 200


@pytest.mark.parametrize("stylesheet", STYLESHEETS)
def test_every_url_in_a_stylesheet_resolves(stylesheet: str) -> None:
    source = finders.find(stylesheet)
    assert source is not None, f"{stylesheet} is not collected"
    css = Path(source).read_text(encoding="utf-8")
    base = settings.STATIC_URL + stylesheet
    urls = {
        urljoin(base, found)
        for found in CSS_URL.findall(css)
        # inline images; an old-IE behaviour hack; the fonts the portal does not serve
        if not found.startswith(("data:", "#")) and not found.endswith(FONT_SUFFIXES)
    }
    client = Client()
    for url in sorted(urls):
        status, path = _follow(client, url)
        assert status == 200, f"{url} (in {stylesheet}) answers {status}"
        assert finders.find(_static_name(path)) is not None


def test_govuk_frontend_fonts_are_not_served() -> None:
    """The GDS Transport fonts govuk-frontend's CSS names are refused, so no page can load
    them by accident; the every-page browser test checks that no page asks for them."""
    css = Path(finders.find("govuk/govuk-frontend.min.css") or "").read_text(encoding="utf-8")
    fonts = [url for url in CSS_URL.findall(css) if url.endswith(FONT_SUFFIXES)]
    assert fonts
    assert all(_follow(Client(), url)[0] == 404 for url in fonts)


def test_unknown_govuk_asset_is_not_found() -> None:
    assert Client().get("/assets/fonts/no-such-font.woff2").status_code == 404
    assert Client().get("/assets/../settings.py").status_code == 404
