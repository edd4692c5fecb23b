"""One env-driven settings module.

Defaults give the embedded setup (SQLite, Celery tasks run in-process). ``DATABASE_URL`` switches to
PostgreSQL, ``REDIS_URL`` to a real Celery broker. Every variable is listed in ``.env.example``.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from loancenter.lib.env import env_bool, env_int, env_list, env_rate, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
# The audit chain's key (loancenter/audit.py): each row's hash is an HMAC with it. It lives only here, never in the
# database, so the database's own credentials cannot rewrite history unnoticed. Never change it on a live chain.
AUDIT_HMAC_KEY = env_str("AUDIT_HMAC_KEY", "")
if not AUDIT_HMAC_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("AUDIT_HMAC_KEY must be set when DEBUG is off (the audit chain's key; keep it out "
                                   "of the database)")
    AUDIT_HMAC_KEY = "dev-only-audit-key-do-not-use-in-production"  # loancenter.checks warns of it (W004)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "loancenter.admin_config.LoanCenterAdminConfig",  # django.contrib.admin with our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_htmx",  # request.htmx: in-place actions answer a fragment (issue 15 part 14)
    "loancenter",
    "applications",
    "review",
    "disbursement",
    "postloan",
    "archive",
    "risk",
    "demo",  # seed_demo: demo data through the real services; imported by nothing else
]

MIDDLEWARE = [
    "loancenter.faults.DatabaseUnavailableMiddleware",
    "loancenter.middleware.RejectNulMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "loancenter.sessions.SlidingSessionMiddleware",  # Django's, saving at most once a minute
    "loancenter.language.ChineseFirstLocaleMiddleware",  # LocaleMiddleware, Chinese unless chosen
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "loancenter.middleware.LoginRequiredMiddleware",
    "loancenter.middleware.ForbiddenPageMiddleware",
]

ROOT_URLCONF = "loancenter.urls"
WSGI_APPLICATION = "loancenter.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "loancenter.context_processors.posts",
                "loancenter.menu.navigation",  # the side menu (wiring: reads every app's queues)
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
                                                  conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # Browser requests and the in-process batch share one file; wait instead of failing.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "loancenter.User"

AUTHENTICATION_BACKENDS = ["loancenter.auth.LockoutModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Lock-out (SPEC §10 "Authentication"): this many failed logins for one username from one client address within
# LOGIN_LOCK_MINUTES refuse that username from that address for LOGIN_LOCK_MINUTES (loancenter/auth.py).
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
LOGIN_LOCK_MINUTES = env_int("LOGIN_LOCK_MINUTES", 15)
# Throttle (SPEC §16.14): failed logins per client address per period ("20/10m": 20 per 10 minutes); past it, every
# login and token request from that address is refused unchecked until the period ends. Successes do not count.
LOGIN_THROTTLE_RATE = env_rate("LOGIN_THROTTLE_RATE", "20/10m")
# Reverse proxies in front of gunicorn that append the client's address to X-Forwarded-For (the TLS proxy of
# docker-compose.yml: 1). 0 (the default) takes the connection's address and ignores the header, which a client
# could forge; a wrong value lets clients pick their address, or puts every client behind the proxy's.
NUM_PROXIES = env_int("NUM_PROXIES", 0)
# API tokens (POST /api/auth/token/) expire this many hours after they are issued; a password change or a
# deactivation deletes them at once.
API_TOKEN_HOURS = env_int("API_TOKEN_HOURS", 8)
for _name in ("LOGIN_MAX_FAILURES", "LOGIN_LOCK_MINUTES", "API_TOKEN_HOURS"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1")
if NUM_PROXIES < 0:
    raise ImproperlyConfigured("NUM_PROXIES must be 0 or more")

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Every way a password is set (create_staff, the admin's forms, staff_create) runs these (SPEC §10).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "loancenter.auth.NotOnlySpacesValidator"},
]

REDIS_URL = env_str("REDIS_URL", "")
# Nothing caches through Django's cache, so Redis going down never breaks a page: only Celery uses it.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# With the broker down, publishing gives up within about a second and the caller says so (loancenter.faults).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("CELERY_BROKER_CONNECTION_TIMEOUT", 2)
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Uploaded documents (影像资料, SPEC §11) live under MEDIA_ROOT, which is never served directly: every file goes out
# through the scope-checked view (applications/files/views.py). DOCUMENT_STORAGE=s3 keeps them in an S3-compatible
# store instead (django-storages; README "Document storage"): bucket, endpoint and keys from the AWS_* variables.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media-not-served/"
DOCUMENT_STORAGE = env_str("DOCUMENT_STORAGE", "local")
if DOCUMENT_STORAGE == "local":
    _DOCUMENTS_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                          "OPTIONS": {"location": MEDIA_ROOT / "documents"}}
elif DOCUMENT_STORAGE == "s3":
    _DOCUMENTS_STORAGE = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME", "loancenter-documents"),
        "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
        "access_key": env_str("AWS_S3_ACCESS_KEY_ID") or None,
        "secret_key": env_str("AWS_S3_SECRET_ACCESS_KEY") or None,
        "region_name": env_str("AWS_S3_REGION_NAME") or None,
        "default_acl": None, "querystring_auth": True, "file_overwrite": False,
    }}
else:
    raise ImproperlyConfigured(f"DOCUMENT_STORAGE={DOCUMENT_STORAGE!r} is neither local nor s3")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "documents": _DOCUMENTS_STORAGE,
}
# At most this many bytes a file, counted while the upload is read (SPEC §11, §16.7: 413 file_too_large).
DOCUMENT_MAX_BYTES = env_int("DOCUMENT_MAX_BYTES", 20 * 1024 * 1024)
# Every uploaded file goes to a temporary file as it arrives (never whole into memory), counted by the limit first.
FILE_UPLOAD_HANDLERS = [
    "applications.files.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Django's database sessions: revocable on logout and shared by every worker.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 30 * 60)
# Inactivity timeout, not a fixed lifetime: the expiry slides forward when the last save is this old
# (loancenter/sessions.py), instead of rewriting the session row on every request.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_REFRESH_SECONDS = env_int("SESSION_REFRESH_SECONDS", 60)
if not 0 <= SESSION_REFRESH_SECONDS <= SESSION_COOKIE_AGE // 2:
    raise ImproperlyConfigured("SESSION_REFRESH_SECONDS must be between 0 and half of SESSION_COOKIE_AGE")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content-Security-Policy (django-csp 4): scripts only from our own static files (no inline script, no inline
# handler, no other origin). Inline style attributes are allowed (docs/decisions.md, "CSP and inline styles").
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],  # Swagger UI draws its icons as data: SVGs
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "loancenter.auth.ExpiringTokenAuthentication",  # DRF's tokens, API_TOKEN_HOURS long
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "loancenter.apis.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "NUM_PROXIES": NUM_PROXIES,  # the client's address, for the login throttle and lock-out (loancenter/auth.py)
}
SPECTACULAR_SETTINGS = {
    "TITLE": "个贷中心 Personal-loan center API",
    "DESCRIPTION": "Loans from application to archive. Every transition is POST /api/loans/{id}/transitions/{name}/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc assets come from the project (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per choice set that several fields share (e.g. repayment_method and a product's repayment_methods).
    "ENUM_NAME_OVERRIDES": {
        "RepaymentMethodEnum": "loancenter.lib.money.REPAYMENT_METHODS",
        "DocumentCodeEnum": "applications.catalog.DOCUMENTS",
        "PurposeEnum": "applications.catalog.PURPOSES",
        "CollateralKindEnum": "applications.catalog.COLLATERAL_KINDS",
        "LoanStatusEnum": "applications.models.Status",
        "GradeEnum": "postloan.models.GRADE_CHOICES",
        "EscalationTaskKindEnum": "postloan.models.EscalationTask.KINDS",
        "ServicingKindEnum": "postloan.models.ServicingRequest.KINDS",
        "HandoverStatusEnum": "loancenter.models.Handover.Status",
        "NoticeChannelEnum": "postloan.monitoring_models.Notice.CHANNELS",
        "ContactChannelEnum": "postloan.models.CollectionAction.CHANNELS",
        "ProductCategoryEnum": "applications.catalog.CATEGORIES",
        # A loan's repricing_rule and the contract signing's repricing input (SPEC §16.31) share one choice set.
        "RepricingRuleEnum": "applications.catalog.REPRICING_RULE_CHOICES",
    },
}

# Customer notification of a decision is due within this many working days (rule 12).
DECISION_NOTICE_WORKING_DAYS = env_int("DECISION_NOTICE_WORKING_DAYS", 3)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# Nightly batch (SPEC §6): loans per chunk (one Celery task each), and when a chunk left running counts as dead.
BATCH_CHUNK_SIZE = env_int("BATCH_CHUNK_SIZE", 200_000)
BATCH_CHUNK_STALE_SECONDS = env_int("BATCH_CHUNK_STALE_SECONDS", 600)

# After disbursement (SPEC §12, issue 18): reminders N calendar days before each due date; the SMS gateway the
# notices go through (empty: the outbox-and-log channel only); notices per beat round.
REMINDER_DAYS_BEFORE = env_int("REMINDER_DAYS_BEFORE", 3)
SMS_GATEWAY_URL = env_str("SMS_GATEWAY_URL", "")
SMS_GATEWAY_TIMEOUT = env_int("SMS_GATEWAY_TIMEOUT", 10)
NOTICE_BATCH_SIZE = env_int("NOTICE_BATCH_SIZE", 200)
NOTICE_CLAIM_STALE_SECONDS = env_int("NOTICE_CLAIM_STALE_SECONDS", 900)
