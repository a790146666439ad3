"""Django started in a child process: settings are read once per process, from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def django_process(
    code: str = "",
    *,
    settings_module: str = "config.settings",
    drop: tuple[str, ...] = (),
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """
    Run `code` after django.setup() in a fresh interpreter with this environment plus `env`,
    without the variables whose names start with one of `drop`. Never raises on failure: the
    caller reads returncode, stdout and stderr.
    """
    environment = {k: v for k, v in os.environ.items() if not (drop and k.startswith(drop))}
    environment.update({"DJANGO_SETTINGS_MODULE": settings_module, **env})
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
