"""
gunicorn with config/gunicorn.py: with LOG_FORMAT=json every line is JSON with the request id,
and long request lines reach the application.
"""

from __future__ import annotations

import json
import tempfile

import pytest

from tests.servers import Gunicorn, request, server_env

pytestmark = pytest.mark.system

CALLBACK_SECRET = "callback-secret-0123456789abcdef"


def test_every_line_is_json_access_lines_carry_the_request_id_and_no_secret(tmp_path):
    env = server_env(
        f"sqlite:///{tmp_path / 'db.sqlite3'}",
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        SMS_CALLBACK_SECRET=CALLBACK_SECRET,
        PYTHONWARNINGS="ignore",
    )
    with tempfile.TemporaryFile("w+") as log:
        server = Gunicorn(
            env,
            log,
            workers=1,
            extra_args=["--config", "config/gunicorn.py", "--access-logfile", "-"],
        )
        try:
            server.wait_healthy()
            request(server.base, "GET", "/healthz", headers={"X-Request-ID": "trace-1"})
            request(server.base, "GET", f"/api/delivery/smsru/status/{CALLBACK_SECRET}/")
        finally:
            server.stop()
        log.seek(0)
        lines = [line for line in log.read().splitlines() if line.strip()]

    records = [json.loads(line) for line in lines]  # a line that is not JSON fails here
    assert {"time", "level", "logger", "message", "request_id"} <= set(records[0])
    access = [r for r in records if r["logger"] == "gunicorn.access"]
    traced = [r for r in access if r["message"].endswith(" trace-1")]
    assert len(traced) == 1
    assert traced[0]["request_id"] == "trace-1"
    assert all(r["request_id"] for r in access)  # the health probes got ids of their own
    assert any("/api/delivery/smsru/status/" in r["message"] for r in access)
    assert CALLBACK_SECRET not in "\n".join(lines)
    assert any(r["logger"] == "gunicorn.error" for r in records)


def test_a_long_query_string_gets_the_apis_json_not_gunicorns_414(tmp_path):
    env = server_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", PYTHONWARNINGS="ignore")
    with tempfile.TemporaryFile("w+") as log:
        server = Gunicorn(env, log, workers=1, extra_args=["--config", "config/gunicorn.py"])
        try:
            server.wait_healthy()
            query = "page_size=" + "9" * 6000  # a request line well over gunicorn's default 4094
            status, headers, body = request(server.base, "GET", f"/api/users/profile/?{query}")
        finally:
            server.stop()
    assert status == 401
    assert headers["Content-Type"].startswith("application/json")
    assert body["code"] == "not_authenticated"
