"""Settings for the test suite: the real settings, with test-friendly environment defaults."""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-secret-key-for-the-vouch-test-suite-only-0123456789")
os.environ.setdefault("JWT_SIGNING_KEY", "test-jwt-signing-key-for-the-vouch-test-suite-0123456789")
# HS256 unless a test signs with a key of its own (make run's .env names a development key).
os.environ.setdefault("JWT_PRIVATE_KEY_FILE", "")
os.environ.setdefault("JWT_PRIVATE_KEY", "")
os.environ.setdefault("JWT_ALGORITHM", "")
os.environ.setdefault("SMS_BACKEND", "locmem")
os.environ.setdefault("SMS_ALLOW_DEV_BACKEND", "true")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("OTP_TEST_NUMBERS", "")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_AUTOREFRESH = True  # no collectstatic before tests
WHITENOISE_USE_FINDERS = True
