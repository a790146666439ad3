"""
Gunicorn settings for Vouch: `gunicorn -c config/gunicorn.py config.wsgi:application`.
Command-line options still win over these.

With PROMETHEUS_MULTIPROC_DIR set, every worker writes its metrics to files there and
/metrics adds them up (vouch.core.metrics). The directory must start empty, or a restarted
server would count the previous run again, so the master empties it before the first worker
starts; a worker that exits is marked dead so its files stop counting as live.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import environ

# The same .env as the settings read, so the master and the workers agree on the directory.
environ.Env.read_env(Path(__file__).resolve().parent.parent / ".env", overwrite=False)

# Each access line ends with the request id the application logged under.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'
)


# Request lines up to gunicorn's maximum (8 KiB, as nginx's default buffers) reach the
# application, so a long query string gets the API's JSON 400 rather than gunicorn's HTML 414.
limit_request_line = 8190

# gunicorn's own lines (the access log, "Booting worker ...") go through the same formats and
# the same secret filter as the application's: with LOG_FORMAT=json every line on stderr and
# stdout is JSON, and a callback path never shows its secret.
_JSON = os.environ.get("LOG_FORMAT", "text").strip().lower() == "json"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "secrets": {"()": "vouch.core.logging.SecretsFilter"},
        "request_id": {"()": "vouch.core.logging.AccessRequestIdFilter"},
    },
    "formatters": {
        "error": (
            {"()": "vouch.core.logging.JsonFormatter"}
            if _JSON
            else {"format": "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"}
        ),
        "access": {"()": "vouch.core.logging.JsonFormatter"}
        if _JSON
        else {"format": "%(message)s"},
    },
    "handlers": {
        "error": {
            "class": "logging.StreamHandler",
            "formatter": "error",
            "filters": ["secrets"],
            "stream": "ext://sys.stderr",
        },
        "access": {
            "class": "logging.StreamHandler",
            "formatter": "access",
            "filters": ["request_id", "secrets"],
            "stream": "ext://sys.stdout",
        },
    },
    # The root logger is the application's (config/settings.py LOGGING configures it).
    "root": {"level": "WARNING", "handlers": []},
    "loggers": {
        "gunicorn.error": {"handlers": ["error"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}


def _multiproc_dir() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    return Path(value) if value else None


def on_starting(server: Any) -> None:
    """Empty the metrics directory (creating it if need be) before any worker starts."""
    directory = _multiproc_dir()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def child_exit(server: Any, worker: Any) -> None:
    """Tell the metrics library a worker is gone."""
    if _multiproc_dir() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
