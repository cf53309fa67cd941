"""Settings for `make run` on a developer's or evaluator's machine.

The launcher (``scripts/devstack.py``) exports DATABASE_URL for the embedded PostgreSQL
when none is set, and a throwaway secret key stored in the data folder.
"""

from istv_portal.env import env_bool

from .base import *  # noqa: F403

DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1"]  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = BASE_DIR / ".data" / "outbox"  # noqa: F405
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
