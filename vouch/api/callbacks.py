"""
Delivery-status callbacks from SMS providers. A plain Django view, not DRF: signatures are
computed over the raw request, which must reach the provider's backend untouched.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from vouch.api.errors import error_body
from vouch.core.errors import ApplicationError
from vouch.delivery.services import status_callback_handle


@csrf_exempt
@require_POST
def delivery_status(request: HttpRequest, provider: str, token: str = "") -> HttpResponse:
    try:
        handled = status_callback_handle(provider=provider, request=request, token=token)
    except ApplicationError as error:
        return JsonResponse(error_body(error.status, error.detail, error.code), status=error.status)
    if handled.ack is not None:
        return HttpResponse(handled.ack, content_type="text/plain")
    return JsonResponse({"updated": handled.updated})
