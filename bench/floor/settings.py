"""
The floor: the least a Django project can do for the same database work as Vouch's two
sign-in steps. No middleware, no DRF, no contrib apps; one app with two plain models.
"""

import os

import environ

SECRET_KEY = os.environ.get("FLOOR_SECRET_KEY", "floor-bench-only-key-0123456789abcdef0123456789")
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["floor"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "urls"
WSGI_APPLICATION = "wsgi.application"
DATABASES = {"default": environ.Env.db_url_config(os.environ["FLOOR_DATABASE_URL"])}
# As Vouch does on PostgreSQL (DATABASE_CONN_MAX_AGE default, health checks on).
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False
OTP_TTL = 300
LOGGING = {"version": 1, "disable_existing_loggers": False}
