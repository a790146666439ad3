"""
What the scripts of bench/ share: the settings Vouch runs with under a benchmark, the
quantile their reports use and a fake SMS provider that answers after a delay.

The in-process scripts (profile_steps.py, step1_timing.py, delivery_timing.py,
delivery_throughput.py) call `configure_environment` before `django.setup()`; the scripts
that start servers (run.py, soak.py) build the servers' environment with `server_environment`.
"""

from __future__ import annotations

import math
import os
import secrets
import sys
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parent.parent
ENDPOINT = "/api/users/authenticate/"
KEY = secrets.token_hex(32)  # this run's secret and signing keys, never stored
# Access tokens signed with ES256, as a new deployment signs them (docs/integrate.md).
JWT_PRIVATE_KEY = (
    ec.generate_private_key(ec.SECP256R1())
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    .decode()
)

# Production settings, except what a benchmark on one machine needs: plain HTTP on 127.0.0.1
# (and django.test.Client's testserver), throwaway keys, codes to the dummy backend,
# e-mail kept in memory and warnings only in the log.
SETTINGS = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DEBUG": "false",
    "SECRET_KEY": f"bench-{KEY}",
    "JWT_ALGORITHM": "ES256",
    "JWT_PRIVATE_KEY": JWT_PRIVATE_KEY,
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SECURE_SSL_REDIRECT": "false",
    "SMS_ROUTES": "",
    "SMS_BACKEND": "dummy",
    "SMS_ALLOW_DEV_BACKEND": "true",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "LOG_LEVEL": "WARNING",
}

# The OTP limits a run of many requests from one address meets first.
OTP_LIMITS = (
    "OTP_SENDS_PER_PHONE_HOUR",
    "OTP_SENDS_PER_IP_HOUR",
    "OTP_SENDS_GLOBAL_HOUR",
    "OTP_FAILURES_PER_PHONE_DAY",
    "OTP_VERIFIES_PER_IP_HOUR",
)


def otp_limits(value: str) -> dict[str, str]:
    """
    Every limit of OTP_LIMITS at `value` ("0": no limit), no test numbers and no resend
    cooldown: nothing refuses a run that asks for a new phone each time.
    """
    return {
        **dict.fromkeys(OTP_LIMITS, value),
        "OTP_TEST_NUMBERS": "",
        "OTP_RESEND_COOLDOWN": "0",
    }


def configure_environment(workdir: str | None, **settings: str) -> None:
    """
    For a script that runs Vouch in-process: SETTINGS, a throwaway SQLite file in `workdir`
    (when given) as the database, then the script's own `settings`, as defaults only (anything
    already in the environment wins); the project on sys.path.
    """
    database = {"DATABASE_URL": f"sqlite:///{Path(workdir) / 'bench.sqlite3'}"} if workdir else {}
    for key, value in {**SETTINGS, **database, **settings}.items():
        os.environ.setdefault(key, value)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def django_setup() -> None:
    """django.setup(), without whitenoise's warning of a missing STATIC_ROOT (no collectstatic)."""
    import django

    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    django.setup()


def server_environment(**settings: str) -> dict[str, str]:
    """
    For a Vouch server a script starts: the caller's environment, SETTINGS and the script's
    own `settings` over it. Of the caller's `OTP_*` variables none is kept: a limit is either
    its production default or one the script names.
    """
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("OTP_")}
    return {**inherited, **SETTINGS, **settings}


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (0 <= q <= 1), interpolated between the two nearest values; NaN if none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class FakeProvider:
    """
    A `webhook` SMS gateway on 127.0.0.1 that answers 200 `{"ok": true}` after `delay` seconds
    (the provider's own latency), with keep-alive as a real gateway has. `settings` point the
    `webhook` backend at it; `calls` holds the time.monotonic() of each answer.
    """

    def __init__(self, delay: float) -> None:
        calls: list[float] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once, not 40 ms apart

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(delay)
                calls.append(time.monotonic())
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 1024  # many workers may connect at once
            daemon_threads = True

        server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.calls = calls
        self.settings = {
            "SMS_BACKEND": "webhook",
            "SMS_WEBHOOK_URL": f"http://127.0.0.1:{server.server_address[1]}/sms",
            "SMS_WEBHOOK_SECRET": f"bench-webhook-{KEY}",
        }
