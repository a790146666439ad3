"""
The commands of docs/integrate.md, run as the page writes them (paths and hosts moved to a
scratch directory and a live server): making a key and listing the old one as previous for a
rotation, and creating, using and revoking an API key with curl.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import BASE_DIR, Gunicorn, request, server_env

pytestmark = pytest.mark.system

PAGE = BASE_DIR / "docs" / "integrate.md"
PLACEHOLDER_KEY = "AbCd1234.5eF6gH7iJ8kL9mN0pQ1rS2tU3vW4xY5z"
PLACEHOLDER_HOST = "https://id.example.com"


def _section(title: str) -> str:
    text = PAGE.read_text()
    start = text.index(f"\n{title}\n")
    following = re.search(r"^#{2,3} ", text[start + len(title) + 2 :], flags=re.MULTILINE)
    end = start + len(title) + 2 + following.start() if following else len(text)
    return text[start:end]


def _shell_blocks(section: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)


def _commands(block: str) -> list[str]:
    """The block's commands, continuation lines joined."""
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def _run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A command from the page, with `python`/`.venv/bin/python` being this interpreter."""
    command = re.sub(r"^(\.venv/bin/)?python ", f"{shlex.quote(sys.executable)} ", command)
    done = subprocess.run(  # noqa: S602 (the page's shell commands, as a reader runs them)
        command, shell=True, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"$ {command}\n{done.stdout}{done.stderr}"
    return done


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    _run("python manage.py migrate --noinput", server_env(url))
    return url


@pytest.fixture
def log() -> Iterator[Any]:
    with tempfile.NamedTemporaryFile("w+", prefix="vouch-docs-", suffix=".log") as file:
        yield file


def test_the_rotation_commands_make_a_key_and_list_the_old_one_as_previous(tmp_path, database, log):
    steps = _section("### A new key")
    inline = re.findall(r"`((?:python manage\.py|openssl) [^`]+)`", steps)
    assert [command.split()[0] for command in inline] == ["python", "openssl"]
    etc = tmp_path / "etc-vouch"
    etc.mkdir()
    env = server_env(database)
    # The key in use before the rotation, made as "From HS256 to ES256" says.
    first = re.search(
        r"`(python manage\.py jwt_keygen [^`]+)`", _section("### From HS256 to ES256")
    )
    assert first is not None
    for command in [first[1], *inline]:
        _run(command.replace("/etc/vouch", str(etc)), env)

    assert (etc / "jwt-2.pem").stat().st_mode & 0o777 == 0o600
    server = Gunicorn(
        server_env(
            database,
            JWT_SIGNING_KEY="",
            JWT_PRIVATE_KEY_FILE=str(etc / "jwt-2.pem"),
            JWT_PREVIOUS_PUBLIC_KEYS_FILE=str(etc / "jwt-previous.pem"),
        ),
        log,
        workers=1,
    )
    try:
        server.wait_healthy()
        status, _headers, body = request(server.base, "GET", "/.well-known/jwks.json")
    finally:
        server.stop()
    assert status == 200
    # Both keys: the new one signing, the old one (from openssl) still verifying.
    assert len(body["keys"]) == 2
    assert {key["alg"] for key in body["keys"]} == {"ES256"}


def test_the_api_key_commands_create_use_and_revoke_a_key(database, log):
    env = server_env(database)
    [create] = _commands(_shell_blocks(_section("### Create one"))[0])
    key = _run(create, env).stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}", key), "the key alone on stdout"

    server = Gunicorn(env, log, workers=1)
    try:
        server.wait_healthy()
        [use] = _commands(_shell_blocks(_section("### Use it"))[0])
        curl = use.replace(PLACEHOLDER_KEY, key).replace(PLACEHOLDER_HOST, server.base)
        answer = _run(f"{curl} --silent --output /dev/null --write-out '%{{http_code}}'", env)
        assert answer.stdout == "200"

        [revoke] = _commands(_shell_blocks(_section("### Revoke"))[0])
        _run(revoke.replace("AbCd1234", key.split(".")[0]), env)
        status, _headers, body = request(
            server.base, "GET", "/api/users/", headers={"Authorization": f"Api-Key {key}"}
        )
    finally:
        server.stop()
    assert status == 401
    assert body["code"] == "not_authenticated"
