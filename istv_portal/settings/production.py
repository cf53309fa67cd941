"""Production settings: everything from the environment, secure by default."""

from istv_portal.env import ImproperlyConfiguredEnv, env_int

from .base import *  # noqa: F403

if not ALLOWED_HOSTS:  # noqa: F405
    raise ImproperlyConfiguredEnv("Set DJANGO_ALLOWED_HOSTS (comma-separated host names).")
if len(SECRET_KEY) < 50:  # noqa: F405
    raise ImproperlyConfiguredEnv("DJANGO_SECRET_KEY must be at least 50 characters.")
if not MFA_ENCRYPTION_KEY:  # noqa: F405
    # Without its own key, MFA secrets would be encrypted with a key derived from
    # SECRET_KEY, so rotating one would silently lock everyone out of the other.
    raise ImproperlyConfiguredEnv("Set MFA_ENCRYPTION_KEY (Fernet key(s), newest first).")

DEBUG = False
SECURE_SSL_REDIRECT = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-istv_session"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_NAME = "__Host-istv_csrftoken"
CSRF_COOKIE_HTTPONLY = True
