"""/api/schema/ (OpenAPI 3) and /api/docs/ (the reference page built from it).

Both need the same sign-in as the API: the schema through ``SERVE_PERMISSIONS``, the
page through its own check (``incidents.api.reference``). The page is server-rendered
rather than Swagger UI, whose inline styles the Content-Security-Policy blocks.
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from incidents.api.reference import api_reference

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", api_reference, name="api-docs"),
]
