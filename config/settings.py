"""
Vouch settings. Every value comes from the environment (or a `.env` file in the project
root) through this one module, grouped by the app that reads it; each app reads its own
through its settings object (`vouch/<app>/app_settings.py`), and `vouch.core.settings_registry`
documents every variable (`manage.py settings_reference`, which writes the tables of
docs/configuration.md). Values are checked by the apps'
system checks (`vouch/<app>/checks.py`), not here: only what Django cannot start without is
refused at import.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _logo_origin(url: str) -> list[str]:
    """The origin of a logo served from elsewhere, for the pages' img-src; none for a path."""
    parts = urlsplit(url)
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme in {"http", "https"} else []


env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# --- keys -----------------------------------------------------------------------------------
_DEV_SECRET_KEY = "vouch-development-only-key-never-use-in-production-0123456789"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default="") or (_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

# API tokens: signed with a private key (ES256 by default, or RS256) that any service verifies
# with its public key, or, without one, with the shared secret JWT_SIGNING_KEY (HS256). While
# JWT_SIGNING_KEY is set beside a private key, tokens signed with it still verify (the move
# from HS256). The keys are checked by vouch.accounts.checks (vouch.E030-E035).
JWT_PRIVATE_KEY = env.str("JWT_PRIVATE_KEY", default="")
JWT_PRIVATE_KEY_FILE = env.str("JWT_PRIVATE_KEY_FILE", default="")
JWT_PREVIOUS_PUBLIC_KEYS_FILE = env.str("JWT_PREVIOUS_PUBLIC_KEYS_FILE", default="")
JWT_ALGORITHM = env.str("JWT_ALGORITHM", default="") or (
    "ES256" if JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE else "HS256"
)
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="")
if not JWT_SIGNING_KEY and JWT_ALGORITHM == "HS256":
    if not DEBUG:
        raise ImproperlyConfigured(
            "JWT_SIGNING_KEY must be set when DEBUG is off (or a private key: "
            "JWT_PRIVATE_KEY_FILE)."
        )
    JWT_SIGNING_KEY = hashlib.sha256(f"vouch-jwt:{SECRET_KEY}".encode()).hexdigest()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "vouch.web.error_views.csrf_failure"  # the site's 403 page, in its language
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
JWT_ISSUER = env.str("JWT_ISSUER", default=SITE_URL)
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="vouch")
SITE_NAME = env.str("SITE_NAME", default="Vouch")
SITE_LOGO_URL = env.str("SITE_LOGO_URL", default="")
SITE_PRIVACY_URL = env.str("SITE_PRIVACY_URL", default="")
SITE_TERMS_URL = env.str("SITE_TERMS_URL", default="")
SITE_SUPPORT_URL = env.str("SITE_SUPPORT_URL", default="")

# --- applications ---------------------------------------------------------------------------
INSTALLED_APPS = [
    "vouch.ops.admin_apps.VouchAdminConfig",  # django.contrib.admin, password-only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "csp",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "phonenumber_field",
    "django_tasks",
    "django_tasks_db",
    "django_rq",
    "vouch.core",
    "vouch.accounts",
    "vouch.referrals",
    "vouch.delivery",
    "vouch.webhooks",
    "vouch.otp",
    "vouch.audit",
    "vouch.apikeys",
    "vouch.ops",
    "vouch.web",
    "vouch.api",
]

MIDDLEWARE = [
    # Outermost: every log line of a request carries its id, every answer returns it, and the
    # latency covers the whole stack.
    "vouch.core.middleware.RequestIdMiddleware",
    "vouch.core.middleware.RequestMetricsMiddleware",
    # Next, so that every answer below them (a CORS preflight, a redirect to HTTPS, a static
    # file, the JSON errors and the 503 page of ApiErrorMiddleware) carries both policies.
    "csp.middleware.CSPMiddleware",
    "vouch.core.middleware.PermissionsPolicyMiddleware",
    # First after those, so that every answer under /api/ (preflights, and the 404/413 JSON
    # errors of ApiErrorMiddleware) carries the CORS headers a browser needs to read it.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "vouch.api.middleware.ApiErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "vouch.web.context_processors.site",
            ],
        },
    },
]

# --- storage --------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions make SQLite queue writers instead of failing them with
    # "database is locked", so the atomic rules below hold on the embedded default too.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # A database host that drops packets fails a request in seconds (503), instead of holding
    # a worker until gunicorn's timeout.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=3)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
# Seconds to connect to Redis and to wait for an answer (the cache and the limiter): a Redis
# that stops answering fails a request fast (503) rather than after redis-py's own defaults.
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=1.0)
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="vouch")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- users and authentication ---------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "vouch.accounts.backends.OneTimeCodeBackend",
]
# Wrong admin passwords per account and per client IP within ADMIN_LOGIN_LOCKOUT seconds;
# at either cap the admin login refuses every password until the window ends
# (vouch.accounts.app_settings).
ADMIN_LOGIN_FAILURES_PER_ACCOUNT = env.int("ADMIN_LOGIN_FAILURES_PER_ACCOUNT", default=5)
ADMIN_LOGIN_FAILURES_PER_IP = env.int("ADMIN_LOGIN_FAILURES_PER_IP", default=20)
ADMIN_LOGIN_LOCKOUT = env.int("ADMIN_LOGIN_LOCKOUT", default=900)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The web pages sign in with a session; the API never does (docs/api.md, Authentication).
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/profile/"

PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="RU").upper()
PHONENUMBER_DEFAULT_REGION = PHONE_DEFAULT_REGION
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "E164"

# --- one-time codes (vouch.otp.app_settings; checked by vouch.otp.checks) -------------------
OTP_CHANNELS = [c.strip().lower() for c in env.list("OTP_CHANNELS", default=["sms", "email"])]
OTP_DEFAULT_CHANNEL = env.str("OTP_DEFAULT_CHANNEL", default="sms").lower()
# true: a code by e-mail may create the account of a phone nobody has proven (the original
# system's behaviour); the phone stays unproven until a code sent to it is used.
OTP_EMAIL_SIGNUP = env.bool("OTP_EMAIL_SIGNUP", default=False)
OTP_CODE_LENGTH = env.int("OTP_CODE_LENGTH", default=6)
OTP_TTL = env.int("OTP_TTL", default=300)
OTP_MAX_ATTEMPTS = env.int("OTP_MAX_ATTEMPTS", default=5)
OTP_RESEND_COOLDOWN = env.int("OTP_RESEND_COOLDOWN", default=60)
OTP_TEST_NUMBERS = env.str("OTP_TEST_NUMBERS", default="")
OTP_SENDS_PER_PHONE_HOUR = env.int("OTP_SENDS_PER_PHONE_HOUR", default=5)
OTP_SENDS_PER_IP_HOUR = env.int("OTP_SENDS_PER_IP_HOUR", default=20)
OTP_SENDS_GLOBAL_HOUR = env.int("OTP_SENDS_GLOBAL_HOUR", default=1000)
OTP_FAILURES_PER_PHONE_DAY = env.int("OTP_FAILURES_PER_PHONE_DAY", default=20)
OTP_VERIFIES_PER_IP_HOUR = env.int("OTP_VERIFIES_PER_IP_HOUR", default=100)
# Per-IP limits count an IPv6 client by this many leading bits of its address (a /64 is what
# one host or home is usually given); IPv4 addresses count one by one.
OTP_IPV6_PREFIX = env.int("OTP_IPV6_PREFIX", default=64)
OTP_ALLOWED_REGIONS = [r.strip().upper() for r in env.list("OTP_ALLOWED_REGIONS", default=[])]
# A worker claims DELIVERY_BATCH due messages at once and sends DELIVERY_CONCURRENCY at a time.
DELIVERY_BATCH = env.int("DELIVERY_BATCH", default=32)
DELIVERY_CONCURRENCY = env.int("DELIVERY_CONCURRENCY", default=32)
# What `manage.py prune` keeps (days): challenges (never less than the conversion report's 30
# days; never one that can still be used).
OTP_CHALLENGE_RETENTION_DAYS = env.int("OTP_CHALLENGE_RETENTION_DAYS", default=31)

# --- referrals (vouch.referrals.app_settings) ------------------------------------------------
REFERRALS_PAGE_SIZE = env.int("REFERRALS_PAGE_SIZE", default=20)
REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR = env.int(
    "REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR", default=10
)
REFERRALS_FAILED_ACTIVATIONS_PER_IP_HOUR = env.int(
    "REFERRALS_FAILED_ACTIVATIONS_PER_IP_HOUR", default=30
)
REFERRALS_UNKNOWN_JOINS_PER_IP_HOUR = env.int("REFERRALS_UNKNOWN_JOINS_PER_IP_HOUR", default=30)
REFERRALS_FLAG_NETWORK_REFERRALS = env.int("REFERRALS_FLAG_NETWORK_REFERRALS", default=3)
REFERRALS_FLAG_NETWORK_HOURS = env.int("REFERRALS_FLAG_NETWORK_HOURS", default=24)
REFERRALS_FLAG_BURST_REFERRALS = env.int("REFERRALS_FLAG_BURST_REFERRALS", default=10)
REFERRALS_FLAG_BURST_MINUTES = env.int("REFERRALS_FLAG_BURST_MINUTES", default=10)
REFERRALS_FLAG_PHONE_RANGE_DIGITS = env.int("REFERRALS_FLAG_PHONE_RANGE_DIGITS", default=2)
REFERRALS_FLAG_CHAIN_LINKS = env.int("REFERRALS_FLAG_CHAIN_LINKS", default=5)
REFERRALS_FLAG_CHAIN_HOURS = env.int("REFERRALS_FLAG_CHAIN_HOURS", default=24)

# --- audit trail (vouch.audit.app_settings) -------------------------------------------------
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=90)

# --- background work (vouch.core.app_settings; checked by vouch.core.checks) ----------------
# "immediate" (in the request), "database" (`make worker`) or "rq" (Redis). An unknown name is
# the error vouch.E020; until it is fixed the work runs in the request.
TASKS_BACKEND = env.str("TASKS_BACKEND", default="immediate").lower()
_TASK_BACKENDS = {
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
    "database": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
}
TASKS = {
    "default": {
        "BACKEND": _TASK_BACKENDS.get(TASKS_BACKEND, _TASK_BACKENDS["immediate"]),
        "QUEUES": [],
    }
}
RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0"}}
# Days finished task rows are kept (`manage.py prune`, TASKS_BACKEND=database).
TASK_RESULT_RETENTION_DAYS = env.int("TASK_RESULT_RETENTION_DAYS", default=14)

# --- delivery (vouch.delivery.app_settings; checked by vouch.delivery.checks) ---------------
SMS_BACKEND = env.str("SMS_BACKEND", default="console")
SMS_ROUTES = env.str("SMS_ROUTES", default="")
SMS_TIMEOUT = env.float("SMS_TIMEOUT", default=10.0)
SMS_MAX_ROUNDS = env.int("SMS_MAX_ROUNDS", default=5)
SMS_RETRY_BACKOFF = env.int("SMS_RETRY_BACKOFF", default=30)
SMS_CALLBACK_SECRET = env.str("SMS_CALLBACK_SECRET", default="")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(BASE_DIR / "sent_sms"))
SMS_ALLOW_DEV_BACKEND = env.bool("SMS_ALLOW_DEV_BACKEND", default=False)
# A worker claims DELIVERY_BATCH due messages at once and sends DELIVERY_CONCURRENCY at a time.
DELIVERY_BATCH = env.int("DELIVERY_BATCH", default=32)
DELIVERY_CONCURRENCY = env.int("DELIVERY_CONCURRENCY", default=32)
# What `manage.py prune` keeps (days): sent and failed messages (never a queued one).
DELIVERY_RETENTION_DAYS = env.int("DELIVERY_RETENTION_DAYS", default=30)
# The SMS providers, one group each (delivery_settings.<alias>).
# twilio
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM = env.str("TWILIO_FROM", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_API_URL = env.str("TWILIO_API_URL", default="https://api.twilio.com")
# smsru
SMSRU_API_ID = env.str("SMSRU_API_ID", default="")
SMSRU_FROM = env.str("SMSRU_FROM", default="")
SMSRU_API_URL = env.str("SMSRU_API_URL", default="https://sms.ru")
# smsc
SMSC_LOGIN = env.str("SMSC_LOGIN", default="")
SMSC_PASSWORD = env.str("SMSC_PASSWORD", default="")
SMSC_SENDER = env.str("SMSC_SENDER", default="")
SMSC_API_URL = env.str("SMSC_API_URL", default="https://smsc.ru")
# smsaero
SMSAERO_EMAIL = env.str("SMSAERO_EMAIL", default="")
SMSAERO_API_KEY = env.str("SMSAERO_API_KEY", default="")
SMSAERO_SIGN = env.str("SMSAERO_SIGN", default="SMS Aero")
SMSAERO_API_URL = env.str("SMSAERO_API_URL", default="https://gate.smsaero.ru/v2")
# telegram
TELEGRAM_GATEWAY_TOKEN = env.str("TELEGRAM_GATEWAY_TOKEN", default="")
TELEGRAM_GATEWAY_API_URL = env.str(
    "TELEGRAM_GATEWAY_API_URL", default="https://gatewayapi.telegram.org"
)
TELEGRAM_GATEWAY_CHECK_ABILITY = env.bool("TELEGRAM_GATEWAY_CHECK_ABILITY", default=False)
# webhook
SMS_WEBHOOK_URL = env.str("SMS_WEBHOOK_URL", default="")
SMS_WEBHOOK_SECRET = env.str("SMS_WEBHOOK_SECRET", default="")

# E-mail (Django's own settings): the SMTP server is whatever EMAIL_HOST names, Django's
# defaults otherwise; an SMTP login left pointing at localhost is the warning vouch.W003.
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG and not EMAIL_HOST_USER
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
if "EMAIL_FILE_PATH" in env:
    EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=EMAIL_HOST_USER or "webmaster@localhost")

# --- events for the host app (vouch.webhooks.app_settings) ----------------------------------
# Deliveries go to public addresses over https only, unless this allows the rest.
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)
# Seconds before each retry of a failed delivery; once spent, the delivery has failed.
WEBHOOK_RETRY_SCHEDULE = env.list(
    "WEBHOOK_RETRY_SCHEDULE", cast=float, default=[5, 300, 1800, 7200, 18000, 36000, 36000]
)
# An endpoint every delivery attempt to which has failed for this many days is switched off.
WEBHOOK_DISABLE_AFTER_DAYS = env.float("WEBHOOK_DISABLE_AFTER_DAYS", default=5)

# --- API --------------------------------------------------------------------------------------
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=64 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "vouch.accounts.authentication.JWTAuthentication",
        "vouch.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "vouch.api.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        # DRF's own, with a body nested too deeply or a form with too many fields a 400.
        "vouch.api.parsers.JSONParser",
        "vouch.api.parsers.FormParser",
        "vouch.api.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "vouch.api.errors.api_exception_handler",
    "DATETIME_FORMAT": "iso-8601",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_TTL", default=900)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_TTL", default=2592000)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",  # unused: vouch.accounts.keys signs and verifies
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "AUTH_TOKEN_CLASSES": ("vouch.accounts.tokens.AccessToken",),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

# --- CORS (browser apps on other origins calling the API with a bearer token) ---------------
# Only the listed origins (scheme://host[:port], comma-separated) may; by default none may.
# No cookies cross origins (CORS_ALLOW_CREDENTIALS stays off): such clients use the JWT.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = ["accept", "accept-language", "authorization", "content-type"]
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-ID"]

SPECTACULAR_SETTINGS = {
    "TITLE": "Vouch API",
    "DESCRIPTION": "Phone-number sign-in with one-time codes and invite codes.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/",  # operation ids and tags, also beside /.well-known/
    "PREPROCESSING_HOOKS": ["vouch.api.schema.canonical_paths_only"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "vouch.api.schema.document_errors",
    ],
}

# --- internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- security when DEBUG is off -------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers and Prometheus may ask the app server directly over plain HTTP: the health
# checks and /metrics answer them instead of redirecting (/metrics still asks who is asking).
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$", r"^metrics/?$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): every byte of script and style comes from our own
# origin, as files; no inline script, no inline style, no plugin, no framing. The few pages
# that need more loosen it for themselves only: the API's ReDoc page (vouch.api.docs), the
# browsable API (vouch.api.renderers), and the development outbox page (a nonce on its one
# <style>); the NONCE below is left out of every answer that uses none.
# (Not kept under its own name: django-csp's system check takes CSP_* settings for its old ones.)
_csp_report_uri = env.str("CSP_REPORT_URI", default="")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", *_logo_origin(SITE_LOGO_URL)],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        **({"report-uri": [_csp_report_uri]} if _csp_report_uri else {}),
    }
}
# Permissions-Policy: the powerful browser features the site never uses, switched off for it
# and for anything it might embed. The one it does use, the WebOTP API (otp-credentials, the
# code read from the SMS on the code page), and the clipboard (the copy button) keep their
# default, this origin only. Only names that browsers know: Chromium warns on every page about
# an unknown one (FLoC's interest-cohort is gone; browsing-topics replaced it). Empty: no header.
PERMISSIONS_POLICY = env.str(
    "PERMISSIONS_POLICY",
    default=(
        "accelerometer=(), autoplay=(), browsing-topics=(), camera=(), "
        "display-capture=(), encrypted-media=(), gamepad=(), geolocation=(), gyroscope=(), "
        "hid=(), idle-detection=(), local-fonts=(), magnetometer=(), microphone=(), midi=(), "
        "payment=(), picture-in-picture=(), publickey-credentials-get=(), "
        "screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=()"
    ),
)
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- logging --------------------------------------------------------------------------------
# "text" reads well in a terminal; production sets "json": one object a line, with the
# request id (vouch.core.logging).
# Anything else is the error vouch.E022, and the lines stay text meanwhile.
LOG_FORMAT = env.str("LOG_FORMAT", default="text").lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "vouch.core.logging.RequestIdFilter"},
        "secrets": {"()": "vouch.core.logging.SecretsFilter"},
        "client_error": {"()": "vouch.core.logging.ClientErrorFilter"},
    },
    "formatters": {
        "text": {"()": "vouch.core.logging.TextFormatter"},
        "json": {"()": "vouch.core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["request_id", "secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A 4xx (an unreadable body, a bad Host header, an oversized form): one warning line,
        # never an error or a traceback.
        "django.request": {"filters": ["client_error"]},
        **{
            f"django.security.{name}": {"filters": ["client_error"]}
            for name in (
                "DisallowedHost",
                "TooManyFieldsSent",
                "TooManyFilesSent",
                "RequestDataTooBig",
                "SuspiciousMultipartForm",
            )
        },
    },
}

# --- metrics (GET /metrics, vouch.core.metrics) ---------------------------------------------
# Staff may read /metrics; so may a scraper sending `Authorization: Bearer <METRICS_TOKEN>`.
# Empty: no token access; shorter than 32 characters: the error vouch.E023.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Several worker processes (gunicorn) write their numbers here and /metrics adds them up;
# config/gunicorn.py empties it when the server starts. The client library reads the
# variable from the environment itself, so it must be set there (or in .env), not only here.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
if PROMETHEUS_MULTIPROC_DIR:
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
# The delivery worker's own PROMETHEUS_MULTIPROC_DIR on this host: /metrics adds its numbers
# (sends, provider errors and latency happen there with a worker backend) to the web workers'.
PROMETHEUS_WORKER_MULTIPROC_DIR = env.str("PROMETHEUS_WORKER_MULTIPROC_DIR", default="")
