from django.urls import path

from istv_portal import health

urlpatterns = [path("", health.healthz, name="healthz")]
