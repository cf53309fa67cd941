from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views

admin.site.site_header = "ISTV Portal administration"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("healthz", include("istv_portal.health_urls")),
    path("accounts/", include("allauth.urls")),
    path("manage/", include("accounts.urls")),
    path("audit/", include("accounts.audit.urls")),
    path("admin/", admin.site.urls),
]
