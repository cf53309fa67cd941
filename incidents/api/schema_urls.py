"""/api/schema/ (OpenAPI 3) and /api/docs/ (Swagger UI, assets served locally).

Both need the same sign-in as the API (``SERVE_PERMISSIONS``). The split Swagger view
serves its start-up script as a file rather than inline, so the page works under the
portal's Content-Security-Policy without ``'unsafe-inline'``.
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
