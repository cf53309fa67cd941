from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import TemplateView

from accounts import views as account_views
from accounts.permissions import harden_admin_site
from istv_portal import static_redirects

admin.site.site_header = "ISTV Portal administration"
harden_admin_site(admin.site)  # sign-in through allauth; MFA required for every page

urlpatterns = [
    path("", account_views.home, name="home"),
    path("healthz", include("istv_portal.health_urls")),
    path("favicon.ico", static_redirects.favicon, name="favicon"),
    re_path(static_redirects.GOVUK_ASSET_PATTERN, static_redirects.govuk_asset),
    path("accounts/", include("allauth.urls")),
    # Access administration: accounts' screens, and the hospitals' upload rights among them.
    path("manage/upload-rights/", include("hospitals.upload_right_urls")),
    path("manage/", include("accounts.urls")),
    path("audit/", include("accounts.audit.urls")),
    path("geocoding/", include("incidents.geocoding.urls")),
    path("data/", include("incidents.urls")),
    path("submissions/", include("ingest.urls")),
    path("api/v1/submissions/", include("ingest.api.urls")),
    path("api/v1/", include("incidents.api.urls")),
    path("api/", include("incidents.api.schema_urls")),
    path("programme/", include("programme.urls")),
    path("admin/", admin.site.urls),
    path(
        "data-sources/",
        TemplateView.as_view(template_name="attribution.html"),
        name="attribution",
    ),
]

handler400 = "istv_portal.errors.bad_request"
handler403 = "istv_portal.errors.permission_denied"
handler404 = "istv_portal.errors.page_not_found"
handler500 = "istv_portal.errors.server_error"
