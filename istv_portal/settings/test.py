"""Settings for the test suite: real PostgreSQL, fast password hashing, local e-mail."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-any-deployment-000000")

from .base import *  # noqa: F403
from .base import INSTALLED_APPS

ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# The audit table refuses TRUNCATE; the test runner empties tables with TRUNCATE between
# transactional tests, so test connections carry the flag the trigger honours in test_ DBs.
_db_options = DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
_db_options["options"] = "-c istv.audit_allow_truncate=on"
# Every test client builds its own middleware chain; without this WhiteNoise would scan
# all static files (thousands, with govuk-frontend) each time, seconds per client.
WHITENOISE_AUTOREFRESH = True
# Fault-injection tests slow submission loading down to kill a worker mid-load: a
# test-only app pauses on the loader's progress signal (tests/fault_injection).
INSTALLED_APPS = [*INSTALLED_APPS, "tests.fault_injection.apps.FaultInjectionConfig"]
