"""
Schemathesis hooks for .ci/fuzz: sign in through the API itself, as a client would.

The auth provider runs step 1 and step 2 of POST /api/users/authenticate/ with a test number
(OTP_TEST_NUMBERS of the live server: a fixed code, nothing is sent) and sends the access
token as `Authorization: Bearer`. A 401 (the fuzzer deleted or changed its own user, or
revoked its token) makes schemathesis sign in again.

The pages (.ci/web-pages.openapi.yaml, every path outside /api/) sign in through the pages
themselves, as a browser does: the phone form, then the code form; each case then carries the
session cookie and the CSRF token. The delivery callbacks' `{token}` is the live server's
SMS_CALLBACK_SECRET (LIVE_CALLBACK_SECRET), so that the bodies reach the providers' parsing.

Environment: LIVE_URL, and FUZZ_PHONE/FUZZ_CODE (default LIVE_PHONE/LIVE_CODE); .ci/fuzz sets
them to the staff number for its second pass, with FUZZ_KEEP_ACCOUNT=1 so that the staff user
does not delete, deactivate or demote itself (the rest of the pass would run as nobody).
"""

from __future__ import annotations

import os
import re
from typing import Any

import requests
import schemathesis

BASE_URL = os.environ["LIVE_URL"].rstrip("/")
PHONE = os.environ.get("FUZZ_PHONE") or os.environ["LIVE_PHONE"]
CODE = os.environ.get("FUZZ_CODE") or os.environ["LIVE_CODE"]
AUTHENTICATE = f"{BASE_URL}/api/users/authenticate/"

KEEP_ACCOUNT = os.environ.get("FUZZ_KEEP_ACCOUNT") == "1"
CALLBACK_SECRET = os.environ.get("LIVE_CALLBACK_SECRET", "")
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


@schemathesis.auth(refresh_interval=600, retry_on=[401]).apply_to(path_regex="^/api/")
class BearerFromTestNumber:
    def get(self, case: Any, ctx: Any) -> str:
        return sign_in()

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


def _csrf_token(page: requests.Response) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if not match:
        raise RuntimeError(f"no CSRF token on {page.url}: {page.status_code}")
    return match.group(1)


def page_sign_in() -> dict[str, str]:
    """
    Sign in through /login/ and /login/code/; return the cookies. Carried by hand: the server
    marks them Secure (DEBUG is off), which a cookie jar would not send back over http.
    """
    cookies: dict[str, str] = {}
    for step, data in (("/login/", {"phone": PHONE}), ("/login/code/", {"code": CODE})):
        form = requests.get(f"{BASE_URL}{step}", cookies=cookies, timeout=30)
        cookies.update(form.cookies.get_dict())
        answer = requests.post(
            f"{BASE_URL}{step}",
            data={**data, "csrfmiddlewaretoken": _csrf_token(form)},
            cookies=cookies,
            allow_redirects=False,
            timeout=30,
        )
        # Every form answers with a redirect, a refusal too: only where it leads tells.
        expected = "/login/code/" if step == "/login/" else "/profile/"
        if answer.status_code != 302 or answer.headers.get("Location") != expected:
            raise RuntimeError(
                f"{step} failed: {answer.status_code} to {answer.headers.get('Location')}"
            )
        cookies.update(answer.cookies.get_dict())
    if "sessionid" not in cookies or "csrftoken" not in cookies:
        raise RuntimeError(f"the pages' sign-in set no session: {sorted(cookies)}")
    return cookies


@schemathesis.auth(refresh_interval=600, retry_on=[]).skip_for(path_regex="^/api/")
class SessionFromTestNumber:
    def get(self, case: Any, ctx: Any) -> dict[str, str]:
        return page_sign_in()

    def set(self, case: Any, data: dict[str, str], ctx: Any) -> None:
        case.cookies = {**(case.cookies or {}), **data}
        case.headers = {**(case.headers or {}), "X-CSRFToken": data["csrftoken"]}


_MUTATING = {"PUT", "PATCH", "DELETE"}


@schemathesis.hook
def map_path_parameters(ctx: Any, path_parameters: dict[str, Any]) -> dict[str, Any]:
    """
    Point writes to /api/users/{id}/ away from the fuzzer's own account; give the callbacks
    with a token the live server's own.
    """
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
    if (
        operation is not None
        and operation.path == "/api/delivery/{provider}/status/{token}/"
        and CALLBACK_SECRET
    ):
        path_parameters = {**path_parameters, "token": CALLBACK_SECRET}
    return path_parameters
