"""
Step 1: one INSERT of (phone, HMAC of the code, expiry).
Step 2: SELECT the newest unconsumed row, constant-time compare, conditional
UPDATE ... WHERE consumed_at IS NULL, get_or_create of the user.
"""

import hashlib
import hmac
import json
import secrets
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from floor.models import Challenge, User


def code_hash(phone: str, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def _body(request: HttpRequest) -> dict:
    try:
        data = json.loads(request.body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@csrf_exempt
@require_POST
def request_code(request: HttpRequest) -> HttpResponse:
    phone = str(_body(request).get("phone", ""))
    if not phone:
        return JsonResponse({"detail": "phone"}, status=400)
    code = "".join(secrets.choice("0123456789") for _ in range(6))
    Challenge.objects.create(
        phone=phone,
        code_hash=code_hash(phone, code),
        expires_at=timezone.now() + timedelta(seconds=settings.OTP_TTL),
    )
    return JsonResponse({"phone": phone, "code_length": 6})


@csrf_exempt
@require_POST
def verify_code(request: HttpRequest) -> HttpResponse:
    data = _body(request)
    phone, code = str(data.get("phone", "")), str(data.get("code", ""))
    now = timezone.now()
    challenge = (
        Challenge.objects.filter(phone=phone, consumed_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )
    if challenge is None or challenge.expires_at <= now:
        return JsonResponse({"detail": "no_active_code"}, status=400)
    if not constant_time_compare(code_hash(phone, code), challenge.code_hash):
        return JsonResponse({"detail": "invalid_code"}, status=400)
    if not Challenge.objects.filter(pk=challenge.pk, consumed_at__isnull=True).update(
        consumed_at=now
    ):
        return JsonResponse({"detail": "no_active_code"}, status=400)
    user, created = User.objects.get_or_create(phone=phone)
    return JsonResponse({"id": user.pk, "created": created})
