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
