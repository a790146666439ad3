"""
Schemathesis hooks for .ci/fuzz: sign in through the API itself, as a client would.

The auth provider runs step 1 and step 2 of POST /api/users/authenticate/ with a test number
(OTP_TEST_NUMBERS of the live server: a fixed code, nothing is sent) and sends the access
token as `Authorization: Bearer`. A 401 (the fuzzer deleted or changed its own user, or
revoked its token) makes schemathesis sign in again.

Environment: LIVE_URL, and FUZZ_PHONE/FUZZ_CODE (default LIVE_PHONE/LIVE_CODE); .ci/fuzz sets
them to the staff number for its second pass, with FUZZ_KEEP_ACCOUNT=1 so that the staff user
does not delete, deactivate or demote itself (the rest of the pass would run as nobody).
"""

from __future__ import annotations

import os
from typing import Any

import requests
import schemathesis

BASE_URL = os.environ["LIVE_URL"].rstrip("/")
PHONE = os.environ.get("FUZZ_PHONE") or os.environ["LIVE_PHONE"]
CODE = os.environ.get("FUZZ_CODE") or os.environ["LIVE_CODE"]
AUTHENTICATE = f"{BASE_URL}/api/users/authenticate/"

KEEP_ACCOUNT = os.environ.get("FUZZ_KEEP_ACCOUNT") == "1"
_signed_in: dict[str, Any] = {}


def sign_in() -> str:
    step1 = requests.post(AUTHENTICATE, json={"phone": PHONE}, timeout=30)
    if step1.status_code != 200:
        raise RuntimeError(f"step 1 failed: {step1.status_code} {step1.text}")
    step2 = requests.post(AUTHENTICATE, json={"phone": PHONE, "code": CODE}, timeout=30)
    if step2.status_code != 200:
        raise RuntimeError(f"step 2 failed: {step2.status_code} {step2.text}")
    body = step2.json()
    _signed_in["id"] = body["user"]["id"]
    return str(body["access"])


@schemathesis.auth(refresh_interval=600, retry_on=[401])
class BearerFromTestNumber:
    def get(self, case: Any, ctx: Any) -> str:
        return sign_in()

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


_MUTATING = {"PUT", "PATCH", "DELETE"}


@schemathesis.hook
def map_path_parameters(ctx: Any, path_parameters: dict[str, Any]) -> dict[str, Any]:
    """Point writes to /api/users/{id}/ away from the fuzzer's own account."""
    operation = ctx.operation
    own_id = _signed_in.get("id")
    if (
        KEEP_ACCOUNT
        and operation is not None
        and operation.method.upper() in _MUTATING
        and operation.path == "/api/users/{id}/"
        and path_parameters
        and type(path_parameters.get("id")) is int
        and path_parameters["id"] == own_id
    ):
        path_parameters = {**path_parameters, "id": path_parameters["id"] + 1}
    return path_parameters
