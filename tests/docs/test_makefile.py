"""The Makefile a newcomer starts from: `make help` names every target, `make run` leaves a .env."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = ROOT / "Makefile"

MAKE = shutil.which("make")

pytestmark = pytest.mark.skipif(MAKE is None, reason="needs make")


def phony_targets() -> list[str]:
    text = MAKEFILE.read_text()
    declared = re.findall(r"^\.PHONY:(.*)$", text, flags=re.MULTILINE)
    assert declared, "the Makefile declares no .PHONY targets"
    return [target for line in declared for target in line.split()]


def make(*args: str, cwd: Path = ROOT) -> str:
    result = subprocess.run(
        [str(MAKE), "--no-print-directory", "-f", str(MAKEFILE), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout


def test_make_help_names_every_target():
    shown = set(re.findall(r"^make (\S+)", make("help"), flags=re.MULTILINE))
    missing = [target for target in phony_targets() if target != "help" and target not in shown]
    assert not missing, f"make help does not list: {missing}"


def test_make_run_writes_a_local_env_with_debug_on(tmp_path):
    make(".env", cwd=tmp_path)
    lines = (tmp_path / ".env").read_text().splitlines()
    key_line = f"JWT_PRIVATE_KEY_FILE={tmp_path}/.run/jwt-dev.pem"
    settings = ("DEBUG=true", key_line, "WEBHOOK_ALLOW_PRIVATE_NETWORKS=true")
    assert "DEBUG=true" in lines
    assert key_line in lines  # ES256 with a development key outside the tracked tree
    # receivers of events on this machine, for a developer trying them
    assert "WEBHOOK_ALLOW_PRIVATE_NETWORKS=true" in lines
    assert all(line.startswith("#") for line in lines if line not in settings)


def test_make_run_generates_the_development_key_once():
    rule = re.search(r"^run:(.*)$", MAKEFILE.read_text(), flags=re.MULTILINE)
    assert rule is not None and "$(DEV_JWT_KEY)" in rule.group(1).split()
    dry_run = make("-n", "-B", ".run/jwt-dev.pem")
    assert "jwt_keygen --algorithm ES256 --out .run/jwt-dev.pem" in dry_run
    assert ".run/" in (ROOT / ".gitignore").read_text().splitlines()


def test_make_run_keeps_an_existing_env(tmp_path):
    (tmp_path / ".env").write_text("DEBUG=false\nSECRET_KEY=mine\n")
    make(".env", cwd=tmp_path)
    assert (tmp_path / ".env").read_text() == "DEBUG=false\nSECRET_KEY=mine\n"


def test_make_run_depends_on_the_env_file():
    rule = re.search(r"^run:(.*)$", MAKEFILE.read_text(), flags=re.MULTILINE)
    assert rule is not None
    assert ".env" in rule.group(1).split()


def test_the_env_file_stays_out_of_git():
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
